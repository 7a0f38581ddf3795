"""Delivering events off the box from the outbox (edge/store/outbox.py): MQTT and webhooks."""
