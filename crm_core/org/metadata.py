"""Salesforce describe metadata of the org's objects, derived from the schema's column info.

This is the single source of field facts (type, label, description, filterable, sortable,
groupable, nillable, references) for the query engine, the REST describe call and the agents'
schema prompt.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from crm_core.org.ids import KEY_PREFIXES
from crm_core.org.schema import LONG_TEXT, OBJECT_MODELS

TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "picklist", "url", "id", "reference"})
NUMERIC_TYPES = frozenset({"double", "currency", "int", "percent"})
DATE_TYPES = frozenset({"date", "datetime"})


AUTO_NUMBERS: dict[str, tuple[str, int]] = {
    "Case": ("CaseNumber", 8),
    "Order": ("OrderNumber", 8),
    "OrderItem": ("OrderItemNumber", 10),
    "LiveChatTranscript": ("Name", 8),
    "Knowledge__kav": ("ArticleNumber", 9),
}
"""Auto-number fields: set on create (next number, zero-padded), never writable."""
COMPOUND_NAMES = frozenset({"User", "Account", "Contact"})
"""Objects whose ``Name`` is first name + last name, maintained by the platform."""
SYSTEM_FIELDS = frozenset({"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp", "ClosedDate"})
"""Fields no caller may set (the platform sets them)."""


def is_platform_field(object_name: str, field_name: str) -> bool:
    """True for a field the platform sets and no caller may write (ids, dates, auto-numbers, names)."""
    if field_name in SYSTEM_FIELDS:
        return True
    if object_name in AUTO_NUMBERS and AUTO_NUMBERS[object_name][0] == field_name:
        return True
    return object_name in COMPOUND_NAMES and field_name == "Name"


@dataclass(frozen=True)
class FieldDescribe:
    """One field of an object, as Salesforce's describe call reports it."""

    name: str
    label: str
    type: str
    description: str
    length: int | None
    nillable: bool
    picklist_values: tuple[str, ...]
    reference_to: str | None
    relationship_name: str | None
    name_field: bool

    @property
    def is_long_text(self) -> bool:
        """Long text areas cannot be filtered, grouped or sorted in SOQL."""
        return self.type == "textarea" and (self.length or 0) >= LONG_TEXT

    @property
    def filterable(self) -> bool:
        return not self.is_long_text

    @property
    def sortable(self) -> bool:
        return not self.is_long_text

    @property
    def groupable(self) -> bool:
        return not self.is_long_text and self.type not in {"double", "currency", "percent", "datetime"}

    @property
    def aggregatable(self) -> bool:
        return not self.is_long_text

    @property
    def searchable(self) -> bool:
        """Searched by SOSL: text-like fields (not ids, references or picklists)."""
        return self.type in {"string", "textarea", "email", "phone", "url"}


@dataclass(frozen=True)
class ChildRelationship:
    """A child relationship name on a parent object (e.g. ``Cases`` on Account)."""

    name: str
    child_object: str
    field: str


@dataclass(frozen=True)
class ObjectDescribe:
    """One object's describe: its fields and its child relationships."""

    name: str
    label: str
    description: str
    key_prefix: str
    fields: tuple[FieldDescribe, ...]
    child_relationships: tuple[ChildRelationship, ...]

    def field(self, name: str) -> FieldDescribe | None:
        """The field named `name`, case-insensitively, or None."""
        return self._fields_by_lower.get(name.lower())

    def parent_relationship(self, name: str) -> FieldDescribe | None:
        """The reference field whose relationship name is `name` (case-insensitive), or None."""
        return self._relationships_by_lower.get(name.lower())

    def child_relationship(self, name: str) -> ChildRelationship | None:
        """The child relationship named `name` (case-insensitive), or None."""
        for rel in self.child_relationships:
            if rel.name.lower() == name.lower():
                return rel
        return None

    @property
    def name_fields(self) -> tuple[FieldDescribe, ...]:
        return tuple(f for f in self.fields if f.name_field)

    @property
    def _fields_by_lower(self) -> dict[str, FieldDescribe]:
        return _index_fields(self)

    @property
    def _relationships_by_lower(self) -> dict[str, FieldDescribe]:
        return _index_relationships(self)


@cache
def _index_fields(obj: ObjectDescribe) -> dict[str, FieldDescribe]:
    return {f.name.lower(): f for f in obj.fields}


@cache
def _index_relationships(obj: ObjectDescribe) -> dict[str, FieldDescribe]:
    return {f.relationship_name.lower(): f for f in obj.fields if f.relationship_name}


def _label(name: str) -> str:
    labels = {
        "Issue__c": "Issue",
        "CaseHistory__c": "Case History",
        "Knowledge__kav": "Knowledge",
        "Product2": "Product",
        "Pricebook2": "Price Book",
        "PricebookEntry": "Price Book Entry",
        "OrderItem": "Order Product",
        "EmailMessage": "Email Message",
        "LiveChatTranscript": "Live Chat Transcript",
        "ProductCategory": "Product Category",
        "ProductCategoryProduct": "Product Category Product",
    }
    return labels.get(name, name)


@cache
def describe_org() -> dict[str, ObjectDescribe]:
    """Describe every object of the org, keyed by API name, in insertion order."""
    fields_by_object: dict[str, tuple[FieldDescribe, ...]] = {}
    children: dict[str, list[ChildRelationship]] = {m.__tablename__: [] for m in OBJECT_MODELS}
    for model in OBJECT_MODELS:
        fields = []
        for column in model.__table__.columns:
            sf = column.info["sf"]
            fields.append(
                FieldDescribe(
                    name=column.name,
                    label=sf["label"],
                    type=sf["type"],
                    description=sf["description"],
                    length=sf["length"],
                    nillable=bool(column.nullable) and not column.primary_key,
                    picklist_values=tuple(sf["picklist"]),
                    reference_to=sf["reference_to"],
                    relationship_name=sf["relationship_name"],
                    name_field=sf["name_field"],
                )
            )
            if sf["child_relationship"]:
                children[sf["reference_to"]].append(
                    ChildRelationship(sf["child_relationship"], model.__tablename__, column.name)
                )
        fields_by_object[model.__tablename__] = tuple(fields)
    return {
        model.__tablename__: ObjectDescribe(
            name=model.__tablename__,
            label=_label(model.__tablename__),
            description=(model.__doc__ or "").strip(),
            key_prefix=KEY_PREFIXES[model.__tablename__],
            fields=fields_by_object[model.__tablename__],
            child_relationships=tuple(children[model.__tablename__]),
        )
        for model in OBJECT_MODELS
    }


def find_object(name: str) -> ObjectDescribe | None:
    """The object named `name`, case-insensitively, or None."""
    for obj in describe_org().values():
        if obj.name.lower() == name.lower():
            return obj
    return None
