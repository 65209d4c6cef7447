import { z } from 'zod';
import { defineCommand, defineEvent, Endpoint, RabbitMqTransport } from '../src/index.ts';

const AddItem = defineCommand('AddItem', z.object({ orderId: z.string(), filling: z.string() }));
const ItemAdded = defineEvent('ItemAdded', AddItem.schema);

const url = process.env.AMQP_URL || 'amqp://localhost'; // AMQP_URL, else RabbitMQ on localhost
const transport = await RabbitMqTransport.connect({ url, prefix: 'quickstart.' });
const orders = new Endpoint({ name: 'orders', transport });
orders.handle(AddItem, async (message, context) => {
  context.log.info(`adding ${message.body.filling} to ${message.body.orderId}`);
  await context.publish(ItemAdded, message.body); // same conversation, caused by this message
});
let billed = () => {};
const billing = new Endpoint({ name: 'billing', transport });
billing.handle(ItemAdded, async (message) => {
  console.log(`billing saw ${message.body.filling}, caused by ${message.headers.causationId}`);
  billed();
});
await Promise.all([orders.start(), billing.start()]);
await Promise.all([
  new Promise<void>((resolve) => (billed = resolve)),
  orders.send(AddItem, { orderId: 'o-1', filling: 'Meat' }, { to: 'orders' }),
]);
await transport.close();
