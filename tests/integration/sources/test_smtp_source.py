"""SmtpMailer against a real aiosmtpd server."""

from __future__ import annotations

from app.demo.sandbox import SmtpServer
from app.demo.sandbox.tls import make_certificate
from checks.sources.smtp import SmtpMailer


def test_mail_is_delivered_with_subject_body_and_recipients(smtp_server):
    mailer = SmtpMailer(smtp_server.host, smtp_server.port, sender="noreply@kybgate.test",
                        timeout=2)

    result = mailer.send(["ops@merchant.test", "owner@merchant.test"], "IBAN değişti",
                         "Eski: TR00 0001\nYeni: TR00 0002\n")

    assert result.ok and result.accepted == ("ops@merchant.test", "owner@merchant.test")
    [mail] = smtp_server.messages
    assert mail.mail_from == "noreply@kybgate.test"
    assert mail.rcpt_tos == ("ops@merchant.test", "owner@merchant.test")
    assert mail.message["Subject"] == "IBAN değişti"
    assert mail.message["Message-ID"] == result.message_id
    assert "Yeni: TR00 0002" in mail.message.get_content()


def test_mail_over_starttls(serve, tmp_path):
    cert = make_certificate(tmp_path, ["127.0.0.1"])
    server = serve(SmtpServer(tls_context=cert.server_context(), require_starttls=True))
    mailer = SmtpMailer(server.host, server.port, sender="noreply@kybgate.test", starttls=True,
                        ssl_context=cert.client_context(), timeout=2)

    result = mailer.send("ops@merchant.test", "Alert", "Review within 3 hours.")

    assert result.ok
    assert server.messages[0].used_tls


def test_unreachable_server_is_an_error_result():
    server = SmtpServer().start()
    port = server.port
    server.stop()

    result = SmtpMailer("127.0.0.1", port, sender="noreply@kybgate.test", timeout=1).send(
        "ops@merchant.test", "x", "y")

    assert not result.ok and "Connection" in result.error
