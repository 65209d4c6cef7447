export {
  ConversationNotSettledError,
  ConversationTracer,
  type SettledConversation,
} from './conversationTracer.ts';
