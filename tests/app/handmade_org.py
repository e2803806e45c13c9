"""A small org written record by record, so tests know every value by construction."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from crm_core.db import make_engine
from crm_core.org.ids import make_id
from crm_core.org.schema import Account, Base, Case, Contact, EmailMessage, LatentBase, User

T0 = dt.datetime(2024, 1, 1, 9, 0, 0)

USER = make_id("User", 0)
ACCOUNTS = [make_id("Account", i) for i in range(2)]
CONTACTS = [make_id("Contact", i) for i in range(2)]
CASES = [make_id("Case", i) for i in range(5)]
EMAILS = [make_id("EmailMessage", i) for i in range(3)]

# (subject, status, priority, account index, hours after T0)
CASE_ROWS = [
    ("Shipping delay", "New", "High", 0, 1),
    ("Broken zipper", "Closed", None, 0, 2),
    ("Refund for shipping 100%_off", "Working", "Low", 1, 3),
    ("Wrong size", "Escalated", "Medium", 1, 4),
    ("SHIPPED twice", "New", None, 0, 5),
]


def build_handmade_org(url: str) -> None:
    """Create the schema and the records above in the database at `url`."""
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    LatentBase.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(
            User(
                Id=USER,
                Name="Ada Agent",
                FirstName="Ada",
                LastName="Agent",
                Email="ada@example.com",
                Username="ada@example.com",
                Alias="aagent",
                TimeZoneSidKey="America/New_York",
                IsActive=True,
                CreatedDate=T0,
            )
        )
        session.flush()
        for i, name in enumerate(["Grace Hopper", "Alan Turing"]):
            first, last = name.split()
            session.add(Account(Id=ACCOUNTS[i], Name=name, FirstName=first, LastName=last, CreatedDate=T0))
            session.flush()
            session.add(
                Contact(
                    Id=CONTACTS[i],
                    Name=name,
                    FirstName=first,
                    LastName=last,
                    AccountId=ACCOUNTS[i],
                    OwnerId=USER,
                    CreatedDate=T0,
                )
            )
        session.flush()
        for i, (subject, status, priority, account, hours) in enumerate(CASE_ROWS):
            session.add(
                Case(
                    Id=CASES[i],
                    CaseNumber=f"{i + 1:08d}",
                    Subject=subject,
                    Description=f"Long text {i}",
                    Status=status,
                    Priority=priority,
                    Origin="Email",
                    AccountId=ACCOUNTS[account],
                    ContactId=CONTACTS[account],
                    OwnerId=USER,
                    CreatedDate=T0 + dt.timedelta(hours=hours),
                )
            )
        session.flush()
        for i in range(3):
            session.add(
                EmailMessage(
                    Id=EMAILS[i],
                    ParentId=CASES[0],
                    Subject=f"Re: delay {i}",
                    TextBody="...",
                    MessageDate=T0 + dt.timedelta(days=i),
                    CreatedDate=T0 + dt.timedelta(days=i),
                )
            )
        session.commit()
    engine.dispose()
