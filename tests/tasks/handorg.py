"""A tiny org built by hand, record by record, so every test knows its answers by construction."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any

from sqlalchemy import Engine, insert

from crm_core.db import make_engine
from crm_core.org import schema as s
from crm_core.org.ids import make_id

T0 = dt.datetime(2024, 1, 1)
_FILLER: dict[type, Any] = {str: "x", bool: True, float: 1.0, int: 1, dt.date: T0.date(), dt.datetime: T0}


class HandOrg:
    """Insert records with minimal arguments; ids come from `make_id` in insertion order."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = make_engine(url, fast_writes=True)
        s.Base.metadata.create_all(self.engine)
        s.LatentBase.metadata.create_all(self.engine)
        self._seq: dict[str, int] = defaultdict(int)
        self.pricebook = self._add(s.Pricebook2, Name="Standard", IsActive=True, IsStandard=True)

    def _add(self, model: type[s.Base], **values: Any) -> str:
        name = model.__tablename__
        record_id = make_id(name, self._seq[name])
        self._seq[name] += 1
        values.setdefault("CreatedDate", T0)
        for column in model.__table__.columns:  # fill required columns the test does not care about
            if not column.nullable and not column.primary_key and column.name not in values:
                values[column.name] = _FILLER[column.type.python_type]
        with self.engine.begin() as conn:
            conn.execute(insert(model), [{"Id": record_id, **values}])
        return record_id

    def latent(self, model: type[s.LatentBase], **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(model), [values])

    def agent(self, name: str = "Agent") -> str:
        n = self._seq["User"]
        return self._add(s.User, Name=f"{name} {n}", FirstName=name, LastName=str(n), Username=f"a{n}@x.test")

    def customer(self, state: str | None = "CA") -> tuple[str, str]:
        """A person account and its contact; returns (account id, contact id)."""
        n = self._seq["Account"]
        account = self._add(s.Account, Name=f"Customer {n}", LastName=str(n), ShippingState=state)
        owner = self._ensure_agent()
        contact = self._add(s.Contact, Name=f"Customer {n}", LastName=str(n), AccountId=account, OwnerId=owner)
        return account, contact

    def _ensure_agent(self) -> str:
        if not self._seq["User"]:
            return self.agent("Owner")
        return make_id("User", 0)

    def issue(self, name: str) -> str:
        return self._add(s.Issue, Name=name, Description__c=f"Problems of type {name}.")

    def product(self, name: str, description: str = "") -> str:
        return self._add(s.Product2, Name=name, Description=description or None, IsActive=True)

    def order(self, account: str, day: dt.date, products: list[str], status: str = "Activated") -> list[str]:
        """An order with one item per product; returns the order item ids."""
        order = self._add(s.Order, AccountId=account, Pricebook2Id=self.pricebook, Status=status, EffectiveDate=day)
        items = []
        for product in products:
            entry = self._add(s.PricebookEntry, Pricebook2Id=self.pricebook, Product2Id=product, UnitPrice=10.0)
            items.append(
                self._add(
                    s.OrderItem, OrderId=order, Product2Id=product, PricebookEntryId=entry, Quantity=1, UnitPrice=10
                )
            )
        return items

    def case(
        self,
        owners: list[str] | str,
        created: dt.datetime,
        *,
        closed: dt.datetime | None = None,
        status: str | None = None,
        issue: str | None = None,
        order_item: str | None = None,
        customer: tuple[str, str] | None = None,
        assigned: list[dt.datetime] | None = None,
    ) -> str:
        """A case assigned to `owners` in turn (first at `created` unless `assigned` gives times)."""
        owners = [owners] if isinstance(owners, str) else owners
        account, contact = customer or self.customer()
        n = self._seq["Case"]
        case = self._add(
            s.Case,
            CaseNumber=f"{n:08d}",
            Subject="Help",
            Status=status or ("Closed" if closed else "New"),
            AccountId=account,
            ContactId=contact,
            OwnerId=owners[-1],
            IssueId__c=issue,
            OrderItemId__c=order_item,
            CreatedDate=created,
            ClosedDate=closed,
        )
        times = assigned or [created + dt.timedelta(minutes=i) for i in range(len(owners))]
        self._add(s.CaseHistory, CaseId__c=case, Field__c="Case Creation", CreatedDate=created)
        previous = None
        for owner, when in zip(owners, times, strict=True):
            self._add(
                s.CaseHistory,
                CaseId__c=case,
                Field__c="Owner Assignment",
                OldValue__c=previous,
                NewValue__c=owner,
                CreatedDate=when,
            )
            previous = owner
        if closed:
            self._add(s.CaseHistory, CaseId__c=case, Field__c="Case Closed", CreatedDate=closed)
        return case

    def article(self, title: str, body: str, summary: str = "") -> str:
        n = self._seq["Knowledge__kav"]
        return self._add(
            s.Knowledge,
            ArticleNumber=f"{n:09d}",
            Title=title,
            Summary=summary or None,
            UrlName=title.lower().replace(" ", "-"),
            FAQ_Answer__c=body,
            PublishStatus="Online",
            Language="en_US",
        )

    def email(self, case: str, body: str, when: dt.datetime = T0) -> str:
        return self._add(
            s.EmailMessage,
            ParentId=case,
            Subject="Re: your case",
            TextBody=body,
            FromAddress="agent@x.test",
            ToAddress="c@x.test",
            MessageDate=when,
        )

    def chat(self, case: str, body: str, when: dt.datetime = T0) -> str:
        with self.engine.connect() as conn:
            row = conn.execute(s.Case.__table__.select().where(s.Case.Id == case)).mappings().one()
        n = self._seq["LiveChatTranscript"]
        return self._add(
            s.LiveChatTranscript,
            Name=f"{n:08d}",
            CaseId=case,
            AccountId=row["AccountId"],
            ContactId=row["ContactId"],
            OwnerId=row["OwnerId"],
            Body=body,
            StartTime=when,
            EndTime=when + dt.timedelta(minutes=10),
        )


def parsed(observation: str) -> Any:
    """Decode a JSON tool observation; a non-JSON observation fails with its text."""
    try:
        return json.loads(observation)
    except json.JSONDecodeError:
        raise AssertionError(f"not a JSON observation: {observation[:300]}") from None
