"""The demo data set: realistic merchants that let a newcomer see real work at once.

Thirty-seven merchants, Turkish and foreign, of low, medium and high risk: some share owners,
IBANs or phones; a few changed their IBAN again and again; a few have websites registered
weeks ago; approved ones have a sales history, recorded through the real ingest path night by
night as a back office sends it, so that monitoring raises its alerts when they happened
(``app.demo.sales``) and the analysts work them (``app.demo.alert_desk``). Everything goes
through the same services as the API (validation, history, audit), with the clock set back
where history is needed.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import phonenumbers
from schwifty import IBAN
from sqlmodel import Session, select
from stdnum.tr import tckimlik

from app.api.schemas import MerchantApplication, MerchantChangeRequest
from app.audit.trail import Actor
from app.demo.alert_desk import AlertDesk
from app.demo.sales import BackOffice, demo_blacklist
from app.demo.timeline import StoryDates, Timeline, story_dates
from app.models import Merchant
from app.security import Keyring
from app.services.assessments import current_policy
from app.services.merchant_changes import change_merchant
from app.services.merchants import submit_application
from checks.policy import Policy

SEED = 20261121


@dataclass(frozen=True)
class DemoPerson:
    """An owner used by one or more demo merchants."""

    full_name: str
    national_id: str
    birth_date: str
    nationality: str = "TR"


@dataclass
class DemoMerchant:
    """One merchant of the demo, with the story it tells."""

    legal_name: str
    trade_name: str
    domain: str
    sector: str
    owners: list[tuple[DemoPerson, str]]
    profile: str  # low | medium | high
    country: str = "TR"
    capital: str = "500000"
    founded_on: str = "2016-04-01"
    email_domain: str | None = None
    iban: str | None = None
    iban_changes: int = 0
    phone: str | None = None
    prices: tuple[str, str] = ("50", "2500")
    turnover: str = "300000"
    domain_age_days: int = 2400
    story: str = ""
    sales_per_day: int = 0
    ticket: tuple[int, int] = (100, 900)
    status: str = "applied"
    created_days_ago: int | None = None  # None: see app.demo.timeline.story_dates
    signup_ip: str | None = None
    pattern: str = ""  # a monitoring story of its sales (``app.demo.sales``)


def _tckn(rng: random.Random) -> str:
    base = str(rng.randint(100000000, 999999999))
    return base + tckimlik.calc_check_digits(base)


def _tr_iban(rng: random.Random) -> str:
    bank = rng.choice(["00010", "00012", "00015", "00046", "00062", "00064", "00067", "00111"])
    account = "".join(str(rng.randint(0, 9)) for _ in range(16))
    return str(IBAN.generate("TR", bank_code=bank, account_code=account).compact)


def _foreign_iban(rng: random.Random, country: str) -> str:
    digits = "".join(str(rng.randint(0, 9)) for _ in range(10))
    specs = {"DE": ("37040044", digits), "NL": ("ABNA", digits), "GB": ("NWBK601613",
                                                                         digits[:8]),
             "AE": ("033", digits + "123456"), "AZ": ("NABZ", digits + "0000000000")}
    bank, account = specs.get(country, ("37040044", digits))
    return str(IBAN.generate(country, bank_code=bank, account_code=account).compact)


def _phone(rng: random.Random, country: str) -> str:
    if country == "TR":
        return f"+90 53{rng.randint(0, 9)} {rng.randint(100, 999)} {rng.randint(10, 99)} " \
               f"{rng.randint(10, 99)}"
    # Foreign merchants get their country's example number (valid by construction).
    example = phonenumbers.example_number(country)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


def people(rng: random.Random) -> dict[str, DemoPerson]:
    """The owner pool; some of them own several merchants."""
    names = [
        ("ayse", "Ayşe Yılmaz", "1984-05-02"), ("mehmet", "Mehmet Öztürk", "1971-09-14"),
        ("ismail", "İsmail Kılıç", "1979-11-20"), ("zeynep", "Zeynep Şahin", "1990-02-08"),
        ("emre", "Emre Çelik", "1987-07-30"), ("elif", "Elif Aydın", "1993-12-01"),
        ("burak", "Burak Doğan", "1982-03-17"), ("selin", "Selin Arslan", "1995-06-22"),
        ("kerem", "Kerem Yıldız", "2005-01-15"), ("deniz", "Deniz Koç", "2006-08-03"),
        ("hakan", "Hakan Kurt", "1968-10-10"), ("gul", "Gül Özdemir", "1976-04-27"),
        ("ozan", "Ozan Aksoy", "1988-09-09"), ("irem", "İrem Güneş", "1999-11-11"),
        ("cem", "Cem Erdoğan", "1985-05-05"), ("nur", "Nur Polat", "1991-01-19"),
        ("ahmet", "Ahmet Karaca", "1974-02-14"), ("fatma", "Fatma Demir", "1981-08-19"),
        ("mustafa", "Mustafa Şimşek", "1969-12-03"), ("hatice", "Hatice Ateş", "1986-04-25"),
        ("yusuf", "Yusuf Bulut", "1977-07-07"), ("leyla", "Leyla Çınar", "1992-10-30"),
        ("serkan", "Serkan Uçar", "1983-01-09"), ("derya", "Derya Kaplan", "1989-05-16"),
        ("onur", "Onur Tekin", "1980-11-28"), ("esra", "Esra Yalçın", "1994-03-12"),
        ("tolga", "Tolga Avcı", "1972-06-21"), ("pinar", "Pınar Özkan", "1987-09-02"),
        # On the OFAC SDN list (ent_num 11600): the sanctions check should stop this one.
        ("murat", "Murat Karayılan", "1954-06-05"),
    ]
    pool = {key: DemoPerson(name, _tckn(rng), born) for key, name, born in names}
    pool["klaus"] = DemoPerson("Klaus Becker", "DE-L01X00T47", "1975-02-12", "DE")
    pool["sarah"] = DemoPerson("Sarah O'Connor", "GB-533401372", "1983-07-04", "GB")
    pool["omar"] = DemoPerson("عمر الفارسي", "AE-784198012345", "1980-03-21", "AE")
    pool["lars"] = DemoPerson("Lars de Vries", "NL-BX1234567", "1979-12-30", "NL")
    pool["rashad"] = DemoPerson("Rashad Mammadov", "AZ-AA1234567", "1986-06-16", "AZ")
    return pool


def catalogue(p: dict[str, DemoPerson]) -> list[DemoMerchant]:
    """The 37 demo merchants and the stories they tell a reviewer."""
    M = DemoMerchant
    ltd, a_s = "Ticaret Limited Şirketi", "Anonim Şirketi"
    return [
        M(f"Anadolu Çiçekçilik {ltd}", "Anadolu Çiçek", "anadolucicek.com.tr", "5992",
          [(p["ayse"], "60"), (p["ismail"], "40")], "low", status="approved",
          sales_per_day=25, ticket=(150, 1800), story="Long-standing florist, clean profile."),
        M(f"Boğaziçi Kitap {a_s}", "Boğaziçi Kitabevi", "bogazicikitap.com", "5942",
          [(p["ahmet"], "100")], "low", status="approved", capital="2000000",
          sales_per_day=40, ticket=(60, 600), story="Bookshop chain, 12 years online."),
        M(f"Ege Zeytinyağı {ltd}", "Ege Sızma", "egesizma.com.tr", "5499",
          [(p["fatma"], "100")], "low", status="approved", sales_per_day=12, ticket=(250, 1500)),
        M(f"Karadeniz Çay Gıda {ltd}", "Rize Çayı", "rizecayi.com.tr", "5499",
          [(p["mustafa"], "70"), (p["hatice"], "30")], "low", status="approved",
          sales_per_day=18, ticket=(90, 700)),
        M(f"Kapadokya Seyahat {a_s}", "Kapadokya Turları", "kapadokyaturlari.com", "4722",
          [(p["yusuf"], "100")], "low", status="approved", prices=("1500", "25000"),
          sales_per_day=6, ticket=(2000, 18000)),
        M(f"Marmara Elektronik {a_s}", "Marmara Store", "marmarastore.com.tr", "5732",
          [(p["burak"], "50"), (p["elif"], "50")], "low", status="approved", capital="5000000",
          prices=("200", "60000"), sales_per_day=30, ticket=(400, 25000), pattern="stolen_card",
          story="Today a customer tried a card the issuer reported stolen: refused, alerted."),
        M(f"Trakya Tekstil {ltd}", "Trakya Moda", "trakyamoda.com", "5651",
          [(p["leyla"], "100")], "low", status="in_review", sales_per_day=0),
        M(f"Lykia Kozmetik {ltd}", "Lykia Doğal", "lykiadogal.com.tr", "5977",
          [(p["nur"], "100")], "low"),
        M("Becker Outdoor GmbH", "Becker Outdoor", "becker-outdoor.de", "5941",
          [(p["klaus"], "100")], "low", country="DE", capital="250000", status="approved",
          prices=("20", "900"), sales_per_day=8, ticket=(40, 700)),
        M("O'Connor Prints Ltd", "Dublin Print Co", "oconnorprints.co.uk", "7333",
          [(p["sarah"], "100")], "low", country="GB", capital="50000"),
        M("De Vries Fietsen B.V.", "De Vries Fietsen", "devriesfietsen.nl", "5940",
          [(p["lars"], "100")], "low", country="NL", capital="120000", status="approved",
          prices=("300", "4500"), sales_per_day=4, ticket=(400, 3800)),
        M(f"Pamukkale Ev Tekstili {ltd}", "Pamuk Ev", "pamukev.com.tr", "5719",
          [(p["zeynep"], "100")], "medium", iban_changes=2,
          story="Changed its payout IBAN twice in two months."),
        M(f"Galata Kahve {ltd}", "Galata Kahvecisi", "galatakahve.com", "5814",
          [(p["emre"], "100")], "medium", domain_age_days=75, capital="60000",
          story="Website registered 75 days ago."),
        M(f"Ankara Oto Yedek Parça {ltd}", "Oto Parça Ankara", "otoparcaankara.com", "5533",
          [(p["burak"], "100")], "medium", status="in_review", turnover="900000",
          story="Second company of an owner of Marmara Elektronik."),
        M(f"Efes Mobilya {a_s}", "Efes Mobilya", "efesmobilya.com.tr", "5712",
          [(p["hakan"], "100")], "medium", prices=("2000", "80000")),
        M(f"Toros Tarım Ürünleri {ltd}", "Toros Tarım", "torostarim.com", "5261",
          [(p["gul"], "50"), (p["cem"], "50")], "medium", status="info_requested"),
        M("Gulf Gate Trading FZE", "GulfGate", "gulfgate-trading.ae", "5999",
          [(p["omar"], "100")], "medium", country="AE", capital="150000",
          story="Free-zone trading company; UAE is a high-risk jurisdiction watch item."),
        M(f"Çukurova Pamuk {ltd}", "Çukurova Pamuk", "cukurovapamuk.com.tr", "5131",
          [(p["ismail"], "100")], "medium", iban_changes=2),
        M(f"Nemrut Hediyelik {ltd}", "Nemrut Hediye", "nemruthediye.com", "5947",
          [(p["irem"], "100")], "medium", domain_age_days=85, capital="20000"),
        M(f"Van Gölü Balıkçılık {ltd}", "Van Balık", "vanbalik.com.tr", "5422",
          [(p["serkan"], "50"), (p["derya"], "50")], "medium", status="approved",
          sales_per_day=15, ticket=(200, 1200), pattern="night",
          story="A fish shop selling most of its month between 21:00 and 06:00."),
        M(f"Hızlı Dijital Kod {ltd}", "HızlıKod E-Pin", "hizlikod-epin.com", "5816",
          [(p["kerem"], "100")], "high", capital="10000", domain_age_days=21, iban_changes=4,
          prices=("10", "20"), email_domain="mailinator.com", turnover="2000000",
          story="E-pin shop of a 21-year-old, domain 3 weeks old, 4 IBAN changes, "
                "site prices 10-20 TRY."),
        M(f"Şans Dijital Oyun {ltd}", "Şans Oyun", "sansoyun-bonus.com", "5816",
          [(p["deniz"], "100")], "high", capital="10000", domain_age_days=14, iban_changes=3,
          prices=("10", "25"), turnover="1500000",
          story="Same profile as HızlıKod: young owner, fresh domain, tiny capital."),
        M(f"Mega Bonus Oyun {ltd}", "MegaBonus", "megabonus-oyun.net", "7995",
          [(p["kerem"], "50"), (p["deniz"], "50")], "high", capital="10000",
          domain_age_days=9, prices=("10", "20"), turnover="3000000",
          story="Both young owners of the e-pin shops, together; gambling MCC."),
        M(f"Altın Kuyumculuk {ltd}", "Altın Kuyum", "altinkuyum-online.com", "5944",
          [(p["selin"], "100")], "high", capital="25000", domain_age_days=130, iban_changes=3,
          prices=("15", "40"), turnover="5000000", status="approved", created_days_ago=40,
          sales_per_day=30, ticket=(500, 1000), pattern="front",
          story="Jewellery site showing 15-40 TRY items; approved 5 weeks ago, now selling "
                "at 500-1,000 TRY a ticket and past the first month's turnover cap; today one "
                "card six times in 75 minutes and 'bahis' top-ups in the descriptions."),
        M(f"Kripto Hızlı Transfer {ltd}", "KriptoHızlı", "kriptohizli.io", "6051",
          [(p["selin"], "50"), (p["kerem"], "50")], "high", capital="10000",
          domain_age_days=5, email_domain="guerrillamail.com", turnover="4000000"),
        M("Caspian Bridge Logistics LLC", "Caspian Bridge", "caspianbridge.az", "4214",
          [(p["rashad"], "100")], "high", country="AZ", capital="5000", domain_age_days=30),
        M(f"Yeni Nesil Ödeme {ltd}", "YN Ödeme", "yeninesilodeme.com", "6012",
          [(p["irem"], "100")], "high", status="rejected", domain_age_days=60,
          story="Rejected last month; shares its owner with Nemrut Hediyelik."),
        M(f"Parlak Elektronik {ltd}", "Parlak Store", "parlakstore.com", "5732",
          [(p["deniz"], "100")], "high", status="suspended", capital="10000",
          story="Suspended after chargebacks; same owner as Şans Oyun."),
        M(f"Sahil Butik {ltd}", "Sahil Butik", "sahilbutik.com.tr", "5621",
          [(p["onur"], "100")], "low", status="approved", sales_per_day=10, ticket=(150, 900),
          pattern="round", story="Four sales in ten at exactly 100, 250 or 500 TRY."),
        M(f"Göbeklitepe Turizm {a_s}", "Göbeklitepe Tur", "gobeklitepetur.com", "4722",
          [(p["ozan"], "60"), (p["cem"], "40")], "low", capital="1000000"),
        M(f"Beykoz Cam Sanatları {ltd}", "Beykoz Cam", "beykozcam.com", "5950",
          [(p["esra"], "100")], "low", status="approved", sales_per_day=5, ticket=(300, 2500)),
        M(f"Safranbolu Lokum {ltd}", "Safran Lokum", "safranlokum.com.tr", "5441",
          [(p["tolga"], "100")], "low"),
        M(f"Mardin Taş Ev {ltd}", "Mardin Konak", "mardinkonak.com", "7011",
          [(p["hakan"], "50"), (p["emre"], "50")], "medium", prices=("1200", "9000")),
        M(f"Bodrum Yat Kiralama {a_s}", "Bodrum Yat", "bodrumyat.com.tr", "4457",
          [(p["gul"], "100")], "medium", prices=("15000", "250000"), turnover="2500000"),
        M(f"Hatay Künefe {ltd}", "Hatay Künefe", "hataykunefe.com", "5812",
          [(p["pinar"], "100")], "low", status="approved", sales_per_day=20, ticket=(120, 600),
          pattern="jump", story="Today's sales five times yesterday's."),
        M(f"Pera Sanat Galerisi {ltd}", "Pera Sanat", "perasanat.com", "5971",
          [(p["zeynep"], "50"), (p["irem"], "50")], "high", prices=("5000", "400000")),
        M(f"Konak Akaryakıt {ltd}", "Konak Petrol", "konakpetrol.com.tr", "5541",
          [(p["murat"], "100")], "high", capital="50000", domain_age_days=120,
          story="Owner's name and birth date match an OFAC SDN entry."),
    ]


def _application(m: DemoMerchant, rng: random.Random) -> MerchantApplication:
    email_domain = m.email_domain or m.domain
    body = {
        "legal_name": m.legal_name, "trade_name": m.trade_name, "country": m.country,
        "tax_id": _tax_id(m, rng),
        "registration_number": f"{m.country}-{rng.randint(10000, 99999)}",
        "founded_on": m.founded_on,
        "capital": {"amount": m.capital, "currency": "TRY" if m.country == "TR" else "EUR"},
        "sector": m.sector, "website": f"https://{m.domain}/",
        "email": f"finans@{email_domain}", "phone": m.phone or _phone(rng, m.country),
        "iban": m.iban or (_tr_iban(rng) if m.country == "TR" else _foreign_iban(rng,
                                                                                 m.country)),
        "expected_monthly_turnover": {"amount": m.turnover, "currency": "TRY"},
        "declared_prices": {"min": m.prices[0], "max": m.prices[1], "currency": "TRY"},
        "owners": [{"full_name": person.full_name, "national_id": person.national_id,
                    "birth_date": person.birth_date, "nationality": person.nationality,
                    "share_pct": share, "role": "owner"} for person, share in m.owners],
        "signup_ip": m.signup_ip,
    }
    return MerchantApplication.model_validate(body)


def _tax_id(m: DemoMerchant, rng: random.Random) -> str:
    if m.country != "TR":
        return f"{m.country}{rng.randint(100000000, 999999999)}"
    from stdnum.tr import vkn
    while True:
        base = str(rng.randint(100000000, 999999999))
        for last in "0123456789":
            if vkn.is_valid(base + last):
                return base + last


@dataclass
class Loaded:
    """A demo merchant with its story and when it happened; ``merchant_id`` is set when its
    application is replayed."""

    merchant_id: str
    spec: DemoMerchant
    created_at: dt.datetime
    dates: StoryDates


def _submit(session: Session, item: Loaded, application: MerchantApplication, actor: Actor,
            keyring: Keyring) -> None:
    merchant = submit_application(session, application=application, actor=actor,
                                  keyring=keyring, now=item.created_at)
    item.merchant_id = merchant.id


def _change_iban(session: Session, item: Loaded, iban: str, actor: Actor, keyring: Keyring,
                 when: dt.datetime) -> None:
    change = MerchantChangeRequest(iban=iban, reason="New payout account requested by the "
                                                     "merchant")
    change_merchant(session, merchant=session.get(Merchant, item.merchant_id), change=change,
                    actor=actor, keyring=keyring, now=when)


def _plan_sales(back_office: BackOffice, item: Loaded, now: dt.datetime) -> None:
    activated_days = (now - item.dates.decided).days if item.dates.decided else 0
    back_office.plan(item.merchant_id, item.spec, activated_days=activated_days)


def load_demo(session: Session, *, keyring: Keyring, now: dt.datetime,
              progress: Callable[[str], None] = lambda _name: None,
              policy: Policy | None = None, timeline: Timeline | None = None) -> list[Loaded]:
    """Plan the demo blacklist, applications, their IBAN histories and the nightly uploads of
    sales (through ``record_transactions``, so monitoring runs, with the analysts' work on the
    alerts they opened) on ``timeline``, each at the time it happened (``app.demo.timeline``).
    Statuses are left to the review step (``app.demo.review``), which assesses and decides
    through the same services as staff.
    Without a timeline, the plan is replayed at once and the caller commits."""
    policy = policy or current_policy()
    plan = timeline if timeline is not None else Timeline()
    plan.at(now - dt.timedelta(days=2),
            lambda: demo_blacklist(session, keyring=keyring, now=now), "blacklist")
    rng = random.Random(SEED)
    actor = Actor(name="demo-loader", request_id="demo")
    shared_phone = _phone(rng, "TR")
    back_office = BackOffice(session, plan, keyring=keyring, policy=policy, now=now, rng=rng,
                             desk=AlertDesk(session, plan, policy, now, random.Random(SEED + 1)))
    loaded: list[Loaded] = []
    pending = 0
    for m in catalogue(people(rng)):
        if m.domain in {"hizlikod-epin.com", "megabonus-oyun.net", "kriptohizli.io"}:
            m.phone = shared_phone  # one phone and one signup IP behind three gambling shops
            m.signup_ip = "198.51.100.66"
        m.signup_ip = m.signup_ip or f"203.0.113.{len(loaded) + 10}"
        dates = story_dates(m.status, iban_changes=m.iban_changes,
                            created_days_ago=m.created_days_ago, pending_index=pending,
                            now=now, rng=rng)
        pending += m.status in {"applied", "in_review", "info_requested"}
        item = Loaded("", m, dates.applied, dates)
        plan.at(dates.applied, partial(_submit, session, item, _application(m, rng), actor,
                                       keyring), m.trade_name)
        for when in dates.iban_changes:
            plan.at(when, partial(_change_iban, session, item, _tr_iban(rng), actor, keyring,
                                  when), m.trade_name)
        if m.sales_per_day and dates.decided is not None:
            plan.at(dates.decided, partial(_plan_sales, back_office, item, now), m.trade_name)
        loaded.append(item)
    if timeline is None:
        plan.play(session, commit=False, progress=progress)
    return loaded


def demo_size() -> int:
    """How many merchants ``load_demo`` creates."""
    return len(catalogue(people(random.Random(SEED))))


def has_merchants(session: Session) -> bool:
    """True when the database already holds merchants."""
    return session.exec(select(Merchant.id).limit(1)).first() is not None


__all__ = ["Loaded", "demo_size", "has_merchants", "load_demo"]
