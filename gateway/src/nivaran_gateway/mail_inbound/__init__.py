"""The SMTP receiver of inbound email (C1, B3, B5, C2): `python -m nivaran_gateway.mail_inbound`.

A citizen's email is parsed (mime.py), handed to intake's ReceiveMessage with the gateway's own workload
certificate, which stores it before reading it, and answered by email through notify (template message_reply,
once per message). SMTP answers say what happened: 250 once intake holds the message (and the answer went to
notify), 451 while intake or notify cannot be reached (the sender's server delivers again, and nothing is lost or
done twice), 550 for a domain that is not ours or a message without a sender's address, 552 for one too large.
"""
