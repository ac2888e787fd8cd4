"""The sections of the STR PDF, in reading order; each turns part of the package into
reportlab flowables under a bilingual heading (English / Turkish)."""

from __future__ import annotations

from typing import Any

from reportlab.platypus import Flowable

from app.services.str_report.pdf_layout import gap, grid, heading, pairs, para

Package = dict[str, Any]


def summary(p: Package) -> list[Flowable]:
    """The case, the filing and the package hash."""
    c, f = p["case"], p.get("filing") or {}
    return [heading("Report summary", "Bildirim özeti"), pairs([
        ("Case / Vaka", f"{c['id']} — {c['title']}"),
        ("Status, priority / Durum, öncelik", f"{c['status']}, {c['priority']}"),
        ("Opened / Açılış", f"{c['opened_at']} ({c['opened_by']})"),
        ("Assignee / Sorumlu", c["assignee"]),
        ("Outcome / Sonuç", c["outcome"]),
        ("STR reference / Bildirim referansı", f.get("reference") or "not filed / bildirilmedi"),
        ("Filed by, at / Bildiren, tarih", f"{f['filed_by']}, {f['filed_at']}" if f else None),
        ("Generated at / Oluşturulma", p["generated_at"]),
        ("Package SHA-256 / Paket SHA-256", p["sha256"]),
    ])]


def merchant(p: Package) -> list[Flowable]:
    """The merchant's identity and contact data."""
    m = p["merchant"]
    return [heading("Merchant", "Üye işyeri"), pairs([
        ("Legal name / Ticari unvan", m["legal_name"]), ("Trade name / Marka", m["trade_name"]),
        ("Merchant id / Üye işyeri no", m["id"]), ("Country / Ülke", m["country"]),
        ("Tax id / Vergi no", m["tax_id"]),
        ("Registration no / Sicil no", m["registration_number"]),
        ("Founded / Kuruluş", m["founded_on"]), ("Sector (MCC) / Sektör", m["sector"]),
        ("Website / Web sitesi", m["website"]), ("E-mail / E-posta", m["email"]),
        ("Phone / Telefon", m["phone"]), ("Payout IBAN / Ödeme IBAN", m["iban"]),
        ("Sign-up IP / Başvuru IP", m["signup_ip"]),
        ("Status, tier / Durum, risk seviyesi", f"{m['status']}, {m['tier'] or '—'}"),
        ("Keys frozen / Anahtarlar donduruldu", m["frozen"]),
    ])]


def persons(p: Package) -> list[Flowable]:
    """Owners and directors with their full national ids (the mask when none is on file)."""
    rows = [[x["full_name"], x["role"], x["share_pct"], x["birth_date"], x["nationality"],
             x.get("national_id") or x["national_id_masked"], x["removed_at"] or "current / güncel"]
            for x in p["persons"]]
    note = p["persons"][0]["national_id_note"] if p["persons"] else ""
    return [heading("Persons and owners", "Kişiler ve ortaklar"),
            grid(["Name / Ad", "Role / Rol", "Share % / Pay %", "Born / Doğum",
                  "Nationality / Uyruk", "National id / Kimlik no",
                  "Until / Bitiş"], rows, [0.2, 0.08, 0.08, 0.11, 0.12, 0.22, 0.19]),
            para(note, "cell")]


def linked(p: Package) -> list[Flowable]:
    """Other merchants sharing an owner, IBAN, contact, domain or sign-up IP."""
    rows = [[x["merchant_id"], x["name"], x["status"], x["shares"]]
            for x in p["linked_merchants"]["merchants"]]
    return [heading("Linked merchants", "Bağlantılı üye işyerleri"),
            grid(["Merchant id / No", "Name / Unvan", "Status / Durum",
                  "Shared / Ortak olan"], rows, [0.25, 0.35, 0.15, 0.25], code_columns=(0,))]


def _evidence_lines(value: Any, prefix: str = "") -> list[str]:
    if isinstance(value, dict):
        return [line for k, v in sorted(value.items())
                for line in _evidence_lines(v, f"{prefix}{k}.")]
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [line for i, v in enumerate(value) for line in _evidence_lines(v,
                                                                              f"{prefix}{i}.")]
    shown = ", ".join(map(str, value)) if isinstance(value, list) else value
    return [f"{prefix.rstrip('.')}: {shown}"]


def alerts(p: Package) -> list[Flowable]:
    """Each alert: scenario, severity, state, disposition, evidence."""
    out: list[Flowable] = [heading("Alerts and scenarios", "Alarmlar ve senaryolar")]
    if not p["alerts"]:
        out.append(para("None / Yok"))
    for a in p["alerts"]:
        out += [heading(f"{a['id']} · {a['scenario']}", a["severity"], "h2"), pairs([
            ("Summary / Özet", a["summary"]),
            ("Status, disposition / Durum, karar", f"{a['status']}, {a['disposition'] or '—'}"),
            ("Resolution / Gerekçe", a["resolution"]),
            ("Occurred, opened, due / Olay, açılış, son tarih",
             f"{a['occurred_at'] or '—'}, {a['opened_at']}, {a['due_at']}"),
            ("Closed / Kapanış", f"{a['closed_at']} ({a['closed_by']})"
             if a["closed_at"] else None),
            ("Evidence / Kanıt", "\n".join(_evidence_lines(a["evidence"]))),
            ("API calls / API çağrıları", a["api_calls"]),
        ]), gap()]
    return out


def transactions(p: Package) -> list[Flowable]:
    """The transactions named by the alerts' evidence (cards masked)."""
    rows = [[t["occurred_at"], "\n".join(filter(None, (t["external_id"], t["description"]))),
             t["type"], f"{t['amount']} {t['currency']}", t["card_masked"], t["customer_ref"],
             t["client_ip"], t["alert_ids"]] for t in p["transactions"]]
    out = [heading("Transactions concerned", "İlgili işlemler"),
           grid(["Time (UTC) / Zaman", "Reference, description / Referans, açıklama",
                 "Type / Tür", "Amount / Tutar", "Card (masked) / Kart (maskeli)",
                 "Customer / Müşteri", "IP", "Alerts / Alarmlar"], rows,
                [0.13, 0.17, 0.06, 0.1, 0.15, 0.1, 0.12, 0.17], code_columns=(7,))]
    if p["missing_transaction_ids"]:
        out.append(para("Named by evidence but not found / Kanıtta geçen ama bulunamayan: "
                        + ", ".join(p["missing_transaction_ids"]), "cell"))
    return out


def api_calls(p: Package) -> list[Flowable]:
    """The verification calls behind API anomaly alerts."""
    rows = [[c["seq"], c["at"], c["source_ip"], c["customer_ref"], c["key_id"],
             f"{c['amount'] or '—'} {c['currency'] or ''}", c["card_masked"], c["decision"]]
            for c in p["api_calls"]]
    return [heading("API calls concerned", "İlgili API çağrıları"),
            grid(["Seq", "Time (UTC) / Zaman", "Source IP / Kaynak IP", "Customer / Müşteri",
                  "Key / Anahtar", "Amount / Tutar", "Card (masked) / Kart",
                  "Decision / Karar"], rows, [0.06, 0.13, 0.13, 0.12, 0.16, 0.1, 0.16, 0.14],
                 code_columns=(4,))]


def narrative(p: Package) -> list[Flowable]:
    """The analyst's narrative, notes, information requests and attachments."""
    n = p["narrative"]
    out = [heading("Analyst's narrative", "Analist değerlendirmesi"), para(n["text"]), gap(),
           heading("Case notes", "Vaka notları", "h2"),
           grid(["Time / Zaman", "Author / Yazan", "Note / Not"],
                [[x["created_at"], x["author"], x["text"]] for x in n["notes"]],
                [0.18, 0.2, 0.62])]
    if n["information_requests"]:
        out += [heading("Information requests", "Bilgi talepleri", "h2"), grid(
            ["Asked / Soruldu", "Question / Soru", "Answer / Cevap"],
            [[f"{r['requested_at']} ({r['requested_by']})", r["question"], r["answer"]]
             for r in n["information_requests"]], [0.25, 0.4, 0.35])]
    if n["attachments"]:
        out += [heading("Attachments", "Ekler", "h2"), grid(
            ["File / Dosya", "Type / Tür", "Size / Boyut", "SHA-256"],
            [[a["filename"], a["content_type"], a["size"], a["sha256"]]
             for a in n["attachments"]], [0.3, 0.15, 0.1, 0.45], code_columns=(3,))]
    return out


def decisions(p: Package) -> list[Flowable]:
    """Who decided what: case and alert events, merchant decisions, key actions."""
    d = p["decisions"]

    def events(rows: list[dict[str, Any]]) -> list[list[Any]]:
        return [[e["seq"], e["at"], e["actor"], e["action"], e["reason"]] for e in rows]
    header = ["Seq", "Time (UTC) / Zaman", "By / Yapan", "Action / İşlem", "Reason / Gerekçe"]
    widths = [0.07, 0.2, 0.23, 0.2, 0.3]
    return [heading("Decisions and who made them", "Kararlar ve karar verenler"),
            heading("Case and alert events", "Vaka ve alarm olayları", "h2"),
            grid(header, events(d["case_events"]), widths),
            heading("Merchant decisions", "Üye işyeri kararları", "h2"),
            grid(["Time / Zaman", "Decision / Karar", "By / Veren",
                  "Confirmed by / Onaylayan", "Reason / Gerekçe", "Policy / Politika"],
                 [[x["created_at"], x["decision"], x["actor"], x["confirmed_by"], x["reason"],
                   x["policy_version"]] for x in d["merchant_decisions"]],
                 [0.16, 0.13, 0.18, 0.16, 0.24, 0.13]),
            heading("Key actions", "Anahtar işlemleri", "h2"),
            grid(header, events(d["key_actions"]), widths)]


def policy(p: Package) -> list[Flowable]:
    """The assessment and the policy versions the items were decided under."""
    a = p["assessment"]
    out = [heading("Risk assessment and policy", "Risk değerlendirmesi ve politika")]
    if a:
        out.append(pairs([("Assessment / Değerlendirme", a["id"]),
                          ("Score, tier / Puan, seviye", f"{a['score']}, {a['tier']}"),
                          ("Recommended action / Önerilen işlem", a["recommended_action"]),
                          ("Policy / Politika", f"{a['policy_version']} ({a['policy_digest']})"),
                          ("Assessed at / Tarih", a["created_at"])]))
    out.append(grid(["Policy version / Politika sürümü", "Used by / Kullanan kayıtlar"],
                    [[v["version"], v["used_by"]] for v in p["policy_versions"]], [0.3, 0.7]))
    return out


def anchors(p: Package) -> list[Flowable]:
    """Every item's anchoring audit events, and the chain head at export."""
    rows = []
    for label, items in (("case", [p["case"]]), ("merchant", [p["merchant"]]),
                         ("alert", p["alerts"]), ("transaction", p["transactions"]),
                         ("note", p["narrative"]["notes"]),
                         ("decision", p["decisions"]["merchant_decisions"])):
        rows += [[f"{label} {i['id']}", x["seq"], x["action"], x["hash"]]
                 for i in items for x in i["anchors"]]
    rows += [["API call", c["seq"], "api.verify", c["hash"]] for c in p["api_calls"]]
    head = p["audit"]["chain_head_at_export"]
    return [heading("Audit anchors", "Denetim izi çapaları"),
            para(f"Chain head at export / Dışa aktarımda zincir başı: seq {head['seq']}, "
                 f"{head['hash']}. Verify / Doğrulama: {p['audit']['verify_with']}.", "cell"),
            gap(), grid(["Item / Kayıt", "Seq", "Action / İşlem", "Hash (SHA-256)"], rows,
                        [0.3, 0.08, 0.2, 0.42], code_columns=(0, 3))]


SECTIONS = (summary, merchant, persons, linked, alerts, transactions, api_calls, narrative,
            decisions, policy, anchors)
