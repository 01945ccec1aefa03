"""The one door out: outbound webhooks on card events, against a real loopback receiver."""
