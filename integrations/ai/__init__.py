"""The AI attendant: buffered replies to customers through any OpenAI-compatible model.

See docs/ai.md. The database is the buffer (Conversation.ai_pending_since and
ai_cursor_message_id); Redis only times it (a sequence per conversation, a short lock).
"""
