"""`python -m nivaran_gateway.mail_inbound`."""

import asyncio

from nivaran_common.settings import load_settings
from nivaran_gateway.mail_inbound.settings import MailInboundSettings

if __name__ == "__main__":
    # Settings first: a refused configuration exits before the heavier imports (grpc, aiosmtpd).
    settings = load_settings(MailInboundSettings)
    from nivaran_gateway.mail_inbound.receiver import run

    asyncio.run(run(settings))
