"""Twilio WhatsApp: incoming-message webhooks and outbound status callbacks (see README.md)."""

from integrations.twilio.adapter import TwilioAdapter

__all__ = ["TwilioAdapter"]
