"""The 16 objects of the simulated org as SQLAlchemy 2.0 models.

Table and column names are Salesforce API names. Each column carries its Salesforce field
metadata in ``info`` (see :func:`field`); :mod:`crm_core.org.metadata` turns it into the
describe records that drive SOQL validation, the REST describe call and the agents' prompt.
The ``latent_*`` tables hold the hidden variables of the generator; they are not objects and
no query language reaches them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

LONG_TEXT = 32000  # Salesforce long text area length; such fields cannot be filtered or sorted


def field(
    label: str,
    sf_type: str,
    description: str,
    *,
    length: int | None = None,
    picklist: tuple[str, ...] = (),
    reference_to: str | None = None,
    relationship_name: str | None = None,
    child_relationship: str | None = None,
    name_field: bool = False,
) -> dict[str, Any]:
    """Salesforce metadata for one column, stored in the column's ``info`` dict."""
    return {
        "sf": {
            "label": label,
            "type": sf_type,
            "description": description,
            "length": length,
            "picklist": picklist,
            "reference_to": reference_to,
            "relationship_name": relationship_name,
            "child_relationship": child_relationship,
            "name_field": name_field,
        }
    }


class Base(DeclarativeBase):
    """Declarative base of the org's objects."""


class LatentBase(DeclarativeBase):
    """Declarative base of the hidden ``latent_*`` tables (same database, separate metadata)."""


def _id(label: str = "Record ID") -> Mapped[str]:
    return mapped_column(String(18), primary_key=True, info=field(label, "id", "Unique 18-character record id."))


def _created() -> Mapped[dt.datetime]:
    return mapped_column(
        DateTime,
        nullable=False,
        index=True,
        info=field("Created Date", "datetime", "When the record was created (UTC)."),
    )


def _created_date(context: Any) -> Any:
    """A new row's ``LastModifiedDate`` when none is given: its ``CreatedDate``."""
    return context.get_current_parameters().get("CreatedDate")


def _modified() -> Mapped[dt.datetime]:
    """``LastModifiedDate``: set by the platform on every write. Not indexed (Salesforce indexes
    ``SystemModstamp``, not this field), so the load does not pay for one more index per table."""
    return mapped_column(
        DateTime,
        nullable=False,
        default=_created_date,
        info=field("Last Modified Date", "datetime", "When the record was last changed (UTC)."),
    )


def _ref(
    target: str,
    column_target: str,
    label: str,
    description: str,
    relationship: str,
    children: str | None,
    *,
    nullable: bool = False,
) -> Mapped[Any]:
    return mapped_column(
        String(18),
        ForeignKey(f"{column_target}.Id"),
        nullable=nullable,
        index=True,
        info=field(
            label,
            "reference",
            description,
            length=18,
            reference_to=target,
            relationship_name=relationship,
            child_relationship=children,
        ),
    )


def _str(label: str, description: str, length: int = 255, *, nullable: bool = True, name: bool = False) -> Mapped[Any]:
    return mapped_column(
        String(length), nullable=nullable, info=field(label, "string", description, length=length, name_field=name)
    )


def _long(label: str, description: str) -> Mapped[Any]:
    return mapped_column(Text, nullable=True, info=field(label, "textarea", description, length=LONG_TEXT))


def _pick(label: str, description: str, values: tuple[str, ...], *, nullable: bool = True) -> Mapped[Any]:
    return mapped_column(
        String(40), nullable=nullable, info=field(label, "picklist", description, length=40, picklist=values)
    )


class User(Base):
    """A service agent of the support center."""

    __tablename__ = "User"
    Id: Mapped[str] = _id("User ID")
    Name: Mapped[str] = _str("Full Name", "First and last name.", 121, nullable=False, name=True)
    FirstName: Mapped[str] = _str("First Name", "Given name.", 40)
    LastName: Mapped[str] = _str("Last Name", "Family name.", 80, nullable=False)
    Email: Mapped[str] = mapped_column(String(128), info=field("Email", "email", "Work email address.", length=128))
    Phone: Mapped[str | None] = mapped_column(String(40), info=field("Phone", "phone", "Work phone number.", length=40))
    Username: Mapped[str] = _str("Username", "Login name, in the form of an email address.", 80, nullable=False)
    Alias: Mapped[str] = _str("Alias", "Short name shown in lists.", 8)
    TimeZoneSidKey: Mapped[str] = _pick(
        "Time Zone",
        "The agent's time zone.",
        ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
    )
    IsActive: Mapped[bool] = mapped_column(Boolean, info=field("Active", "boolean", "Whether the user can log in."))
    CreatedDate: Mapped[dt.datetime] = _created()
    LastModifiedDate: Mapped[dt.datetime] = _modified()


class Account(Base):
    """A customer (person account) of the retailer."""

    __tablename__ = "Account"
    Id: Mapped[str] = _id("Account ID")
    Name: Mapped[str] = _str("Account Name", "The customer's full name.", 255, nullable=False, name=True)
    FirstName: Mapped[str] = _str("First Name", "Customer's given name.", 40)
    LastName: Mapped[str] = _str("Last Name", "Customer's family name.", 80)
    PersonEmail: Mapped[str | None] = mapped_column(
        String(80), info=field("Email", "email", "The customer's email address.", length=80)
    )
    Phone: Mapped[str | None] = mapped_column(String(40), info=field("Phone", "phone", "Customer phone.", length=40))
    ShippingStreet: Mapped[str | None] = _str("Shipping Street", "Street address for deliveries.")
    ShippingCity: Mapped[str | None] = _str("Shipping City", "City for deliveries.", 40)
    ShippingState: Mapped[str | None] = _str("Shipping State", "Two-letter US state code for deliveries.", 80)
    ShippingPostalCode: Mapped[str | None] = _str("Shipping Zip/Postal Code", "Postal code for deliveries.", 20)
    ShippingCountry: Mapped[str | None] = _str("Shipping Country", "Country for deliveries.", 80)
    CreatedDate: Mapped[dt.datetime] = _created()
    LastModifiedDate: Mapped[dt.datetime] = _modified()


class Contact(Base):
    """The person behind a customer account, who contacts support."""

    __tablename__ = "Contact"
    Id: Mapped[str] = _id("Contact ID")
    Name: Mapped[str] = _str("Full Name", "First and last name.", 121, nullable=False, name=True)
    FirstName: Mapped[str] = _str("First Name", "Given name.", 40)
    LastName: Mapped[str] = _str("Last Name", "Family name.", 80, nullable=False)
    Email: Mapped[str | None] = mapped_column(String(80), info=field("Email", "email", "Contact email.", length=80))
    Phone: Mapped[str | None] = mapped_column(String(40), info=field("Phone", "phone", "Contact phone.", length=40))
    AccountId: Mapped[str] = _ref("Account", "Account", "Account ID", "The customer account.", "Account", "Contacts")
    OwnerId: Mapped[str] = _ref("User", "User", "Owner ID", "The agent who owns the contact.", "Owner", None)
    CreatedDate: Mapped[dt.datetime] = _created()
    LastModifiedDate: Mapped[dt.datetime] = _modified()


class Issue(Base):
    """A category of the issue taxonomy that cases are filed under."""

    __tablename__ = "Issue__c"
    Id: Mapped[str] = _id("Issue ID")
    Name: Mapped[str] = _str("Issue Name", "Short name of the issue category.", 80, nullable=False, name=True)
    Description__c: Mapped[str | None] = mapped_column(
        String(1000), info=field("Description", "string", "What the issue category covers.", length=1000)
    )
    CreatedDate: Mapped[dt.datetime] = _created()
    LastModifiedDate: Mapped[dt.datetime] = _modified()


class Pricebook2(Base):
    """A price book: the prices in force for a period."""

    __tablename__ = "Pricebook2"
    Id: Mapped[str] = _id("Price Book ID")
    Name: Mapped[str] = _str("Price Book Name", "Name of the price book.", 255, nullable=False, name=True)
    Description: Mapped[str | None] = _str("Description", "What the price book is for.")
    IsActive: Mapped[bool] = mapped_column(Boolean, info=field("Active", "boolean", "Whether it can be used."))
    IsStandard: Mapped[bool] = mapped_column(
        Boolean, info=field("Is Standard Price Book", "boolean", "The org's standard price book.")
    )
    ValidFrom: Mapped[dt.datetime | None] = mapped_column(
        DateTime, index=True, info=field("Valid From", "datetime", "Start of the validity period.")
    )
    ValidTo: Mapped[dt.datetime | None] = mapped_column(
        DateTime, index=True, info=field("Valid To", "datetime", "End of the validity period.")
    )
    CreatedDate: Mapped[dt.datetime] = _created()
    LastModifiedDate: Mapped[dt.datetime] = _modified()


class ProductCategory(Base):
    """A product category of the catalog."""

    __tablename__ = "ProductCategory"
    Id: Mapped[str] = _id("Product Category ID")
    Name: Mapped[str] = _str("Name", "Category name.", 255, nullable=False, name=True)
    CreatedDate: Mapped[dt.datetime] = _created()
    LastModifiedDate: Mapped[dt.datetime] = _modified()


class Product2(Base):
    """A product sold by the retailer."""

    __tablename__ = "Product2"
    Id: Mapped[str] = _id("Product ID")
    Name: Mapped[str] = _str("Product Name", "Name of the product.", 255, nullable=False, name=True)
    Description: Mapped[str | None] = mapped_column(
        String(4000), info=field("Product Description", "textarea", "What the product is.", length=4000)
    )
    Family: Mapped[str | None] = _pick(
        "Product Family", "Product line.", ("Footwear", "Apparel", "Accessories", "Equipment")
    )
    IsActive: Mapped[bool] = mapped_column(Boolean, info=field("Active", "boolean", "Whether it is sold."))
    ProductCode: Mapped[str | None] = _str("Product Code", "Stock keeping code.", 255)
    CreatedDate: Mapped[dt.datetime] = _created()
    LastModifiedDate: Mapped[dt.datetime] = _modified()


class ProductCategoryProduct(Base):
    """Membership of a product in a category."""

    __tablename__ = "ProductCategoryProduct"
    Id: Mapped[str] = _id("Product Category Product ID")
    ProductCategoryId: Mapped[str] = _ref(
        "ProductCategory",
        "ProductCategory",
        "Category ID",
        "The category.",
        "ProductCategory",
        "ProductCategoryProducts",
    )
    ProductId: Mapped[str] = _ref(
        "Product2", "Product2", "Product ID", "The product.", "Product", "ProductCategoryProducts"
    )
    CreatedDate: Mapped[dt.datetime] = _created()
    LastModifiedDate: Mapped[dt.datetime] = _modified()


class PricebookEntry(Base):
    """The price of a product in a price book."""

    __tablename__ = "PricebookEntry"
    Id: Mapped[str] = _id("Price Book Entry ID")
    Pricebook2Id: Mapped[str] = _ref(
        "Pricebook2", "Pricebook2", "Price Book ID", "The price book.", "Pricebook2", "PricebookEntries"
    )
    Product2Id: Mapped[str] = _ref("Product2", "Product2", "Product ID", "The product.", "Product2", "PricebookEntries")
    UnitPrice: Mapped[float] = mapped_column(
        Float, nullable=False, info=field("List Price", "currency", "Unit price in US dollars.")
    )
    IsActive: Mapped[bool] = mapped_column(Boolean, info=field("Active", "boolean", "Whether it can be ordered."))
    CreatedDate: Mapped[dt.datetime] = _created()
    LastModifiedDate: Mapped[dt.datetime] = _modified()


class Order(Base):
    """A customer's order."""

    __tablename__ = "Order"
    Id: Mapped[str] = _id("Order ID")
    OrderNumber: Mapped[str] = _str("Order Number", "Order number shown to the customer.", 30, name=True)
    AccountId: Mapped[str] = _ref("Account", "Account", "Account ID", "The customer who ordered.", "Account", "Orders")
    Pricebook2Id: Mapped[str] = _ref(
        "Pricebook2", "Pricebook2", "Price Book ID", "The price book of the order.", "Pricebook2", "Orders"
    )
    Status: Mapped[str] = _pick("Status", "Draft or Activated (placed).", ("Draft", "Activated"), nullable=False)
    EffectiveDate: Mapped[dt.date] = mapped_column(
        Date, nullable=False, index=True, info=field("Order Start Date", "date", "The date the order was placed.")
    )
    CreatedDate: Mapped[dt.datetime] = _created()
    LastModifiedDate: Mapped[dt.datetime] = _modified()


class OrderItem(Base):
    """A line of an order: one product at one price."""

    __tablename__ = "OrderItem"
    Id: Mapped[str] = _id("Order Product ID")
    OrderItemNumber: Mapped[str] = _str("Order Product Number", "Line number.", 30, name=True)
    OrderId: Mapped[str] = _ref("Order", "Order", "Order ID", "The order.", "Order", "OrderItems")
    Product2Id: Mapped[str] = _ref("Product2", "Product2", "Product ID", "The product.", "Product2", "OrderItems")
    PricebookEntryId: Mapped[str] = _ref(
        "PricebookEntry",
        "PricebookEntry",
        "Price Book Entry ID",
        "The price book entry the price came from.",
        "PricebookEntry",
        "OrderItems",
    )
    Quantity: Mapped[float] = mapped_column(
        Float, nullable=False, info=field("Quantity", "double", "Number of units ordered.")
    )
    UnitPrice: Mapped[float] = mapped_column(
        Float, nullable=False, info=field("Unit Price", "currency", "Price per unit in US dollars.")
    )
    CreatedDate: Mapped[dt.datetime] = _created()
    LastModifiedDate: Mapped[dt.datetime] = _modified()


CASE_STATUSES = ("New", "Working", "Escalated", "Closed")


class Case(Base):
    """A customer service case."""

    __tablename__ = "Case"
    Id: Mapped[str] = _id("Case ID")
    CaseNumber: Mapped[str] = _str("Case Number", "Case number shown to the customer.", 30, nullable=False, name=True)
    Subject: Mapped[str | None] = _str("Subject", "One-line summary of the case.", 255)
    Description: Mapped[str | None] = _long("Description", "The customer's description of the problem.")
    Status: Mapped[str] = _pick("Status", "Where the case is in its life cycle.", CASE_STATUSES, nullable=False)
    Priority: Mapped[str | None] = _pick("Priority", "Urgency of the case.", ("Low", "Medium", "High"))
    Origin: Mapped[str | None] = _pick("Case Origin", "Channel the case came in.", ("Email", "Phone", "Web", "Chat"))
    AccountId: Mapped[str] = _ref("Account", "Account", "Account ID", "The customer account.", "Account", "Cases")
    ContactId: Mapped[str] = _ref("Contact", "Contact", "Contact ID", "The customer contact.", "Contact", "Cases")
    OwnerId: Mapped[str] = _ref("User", "User", "Owner ID", "The agent who owns the case now.", "Owner", None)
    OrderItemId__c: Mapped[str | None] = _ref(
        "OrderItem",
        "OrderItem",
        "Order Item",
        "The order item the case is about.",
        "OrderItemId__r",
        "Cases__r",
        nullable=True,
    )
    IssueId__c: Mapped[str | None] = _ref(
        "Issue__c", "Issue__c", "Issue", "The issue category of the case.", "IssueId__r", "Cases__r", nullable=True
    )
    CreatedDate: Mapped[dt.datetime] = _created()
    LastModifiedDate: Mapped[dt.datetime] = _modified()
    ClosedDate: Mapped[dt.datetime | None] = mapped_column(
        DateTime, index=True, info=field("Closed Date", "datetime", "When the case was closed (UTC); null if open.")
    )


class CaseHistory(Base):
    """One entry of a case's audit trail."""

    __tablename__ = "CaseHistory__c"
    Id: Mapped[str] = _id("Case History ID")
    CaseId__c: Mapped[str] = _ref("Case", "Case", "Case", "The case.", "CaseId__r", "Histories__r")
    Field__c: Mapped[str] = _pick(
        "Field",
        "What happened: Case Creation, Owner Assignment or Case Closed.",
        ("Case Creation", "Owner Assignment", "Case Closed"),
        nullable=False,
    )
    OldValue__c: Mapped[str | None] = _str("Old Value", "Previous value (the previous owner's user id).", 255)
    NewValue__c: Mapped[str | None] = _str("New Value", "New value (the new owner's user id).", 255)
    CreatedDate: Mapped[dt.datetime] = _created()
    LastModifiedDate: Mapped[dt.datetime] = _modified()


class Knowledge(Base):
    """A knowledge article: an FAQ answer or a service policy."""

    __tablename__ = "Knowledge__kav"
    Id: Mapped[str] = _id("Knowledge Article Version ID")
    ArticleNumber: Mapped[str] = _str("Article Number", "Article number.", 30, name=True)
    Title: Mapped[str] = _str("Title", "Article title.", 255, nullable=False, name=True)
    Summary: Mapped[str | None] = mapped_column(
        String(1000), info=field("Summary", "textarea", "Short summary of the article.", length=1000)
    )
    UrlName: Mapped[str] = _str("URL Name", "URL slug of the article.", 255)
    FAQ_Answer__c: Mapped[str | None] = _long("Article Body", "The article's full text.")
    PublishStatus: Mapped[str] = _pick(
        "Publication Status", "Online, Draft or Archived.", ("Online", "Draft", "Archived"), nullable=False
    )
    Language: Mapped[str] = _pick("Language", "Article language.", ("en_US",), nullable=False)
    CreatedDate: Mapped[dt.datetime] = _created()
    LastModifiedDate: Mapped[dt.datetime] = _modified()


class EmailMessage(Base):
    """An email between a customer and the case's agent."""

    __tablename__ = "EmailMessage"
    Id: Mapped[str] = _id("Email Message ID")
    ParentId: Mapped[str] = _ref("Case", "Case", "Parent Case ID", "The case of the email.", "Parent", "EmailMessages")
    Subject: Mapped[str | None] = _str("Subject", "Email subject.", 3000)
    TextBody: Mapped[str | None] = _long("Text Body", "Plain-text body of the email.")
    FromAddress: Mapped[str | None] = mapped_column(
        String(1000), info=field("From Address", "email", "Sender's address.", length=1000)
    )
    ToAddress: Mapped[str | None] = mapped_column(
        String(4000), info=field("To Address", "email", "Recipient's address.", length=4000)
    )
    MessageDate: Mapped[dt.datetime] = mapped_column(
        DateTime, nullable=False, index=True, info=field("Message Date", "datetime", "When the email was sent (UTC).")
    )
    CreatedDate: Mapped[dt.datetime] = _created()
    LastModifiedDate: Mapped[dt.datetime] = _modified()


class LiveChatTranscript(Base):
    """The transcript of a live chat between a customer and an agent."""

    __tablename__ = "LiveChatTranscript"
    Id: Mapped[str] = _id("Live Chat Transcript ID")
    Name: Mapped[str] = _str("Transcript Name", "Transcript number.", 30, nullable=False, name=True)
    CaseId: Mapped[str] = _ref("Case", "Case", "Case ID", "The case of the chat.", "Case", "LiveChatTranscripts")
    AccountId: Mapped[str] = _ref(
        "Account", "Account", "Account ID", "The customer account.", "Account", "LiveChatTranscripts"
    )
    ContactId: Mapped[str] = _ref(
        "Contact", "Contact", "Contact ID", "The customer contact.", "Contact", "LiveChatTranscripts"
    )
    OwnerId: Mapped[str] = _ref("User", "User", "Owner ID", "The agent in the chat.", "Owner", None)
    Body: Mapped[str | None] = _long("Body", "The chat transcript.")
    StartTime: Mapped[dt.datetime] = mapped_column(
        DateTime, index=True, info=field("Start Time", "datetime", "When the chat started (UTC).")
    )
    EndTime: Mapped[dt.datetime] = mapped_column(
        DateTime, index=True, info=field("End Time", "datetime", "When the chat ended (UTC).")
    )
    CreatedDate: Mapped[dt.datetime] = _created()
    LastModifiedDate: Mapped[dt.datetime] = _modified()


OBJECT_MODELS: tuple[type[Base], ...] = (
    User,
    Account,
    Contact,
    Issue,
    Pricebook2,
    ProductCategory,
    Product2,
    ProductCategoryProduct,
    PricebookEntry,
    Order,
    OrderItem,
    Case,
    CaseHistory,
    Knowledge,
    EmailMessage,
    LiveChatTranscript,
)
"""The 16 objects, parents before children (insertion order)."""

MODEL_BY_OBJECT: dict[str, type[Base]] = {m.__tablename__: m for m in OBJECT_MODELS}


# --- hidden latent variables -----------------------------------------------------------------


class LatentAgent(LatentBase):
    """Per agent: skill (higher is faster, transfers less)."""

    __tablename__ = "latent_agent"
    user_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    skill: Mapped[float] = mapped_column(Float, nullable=False)


class LatentAgentExpertise(LatentBase):
    """Per agent and issue or product: expertise in [0, 1] that drives routing."""

    __tablename__ = "latent_agent_expertise"
    user_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    expertise: Mapped[float] = mapped_column(Float, nullable=False)


class LatentCustomer(LatentBase):
    """Per customer account: complaint propensity and shopping habit."""

    __tablename__ = "latent_customer"
    account_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    complaint_propensity: Mapped[float] = mapped_column(Float, nullable=False)
    order_rate: Mapped[float] = mapped_column(Float, nullable=False)
    basket_size: Mapped[float] = mapped_column(Float, nullable=False)
    preferred_category_id: Mapped[str] = mapped_column(String(18), nullable=False)
    preferred_season: Mapped[str] = mapped_column(String(10), nullable=False)


class LatentProduct(LatentBase):
    """Per product: defect profile (its most likely issue) and seasonal peak."""

    __tablename__ = "latent_product"
    product_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    top_issue_id: Mapped[str] = mapped_column(String(18), nullable=False)
    issue_weights: Mapped[str] = mapped_column(Text, nullable=False)  # JSON {issue_id: weight}
    peak_month: Mapped[int] = mapped_column(Integer, nullable=False)
    seasonality: Mapped[float] = mapped_column(Float, nullable=False)


class LatentIssue(LatentBase):
    """Per issue: seasonal peak month and amplitude."""

    __tablename__ = "latent_issue"
    issue_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    peak_month: Mapped[int] = mapped_column(Integer, nullable=False)
    seasonality: Mapped[float] = mapped_column(Float, nullable=False)


class ArticleDataCategory(LatentBase):
    """The data categories of each knowledge article (``WITH DATA CATEGORY`` filters on them).

    Public like Salesforce's DataCategorySelection, but not an object: SOQL reaches it only
    through ``WITH DATA CATEGORY`` (see :mod:`crm_core.org.categories`)."""

    __tablename__ = "article_data_category"
    article_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    group_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    category_name: Mapped[str] = mapped_column(String(80), nullable=False)


class LatentRegion(LatentBase):
    """Per US state: service speed multiplier on closure time (lower is faster)."""

    __tablename__ = "latent_region"
    state: Mapped[str] = mapped_column(String(2), primary_key=True)
    speed: Mapped[float] = mapped_column(Float, nullable=False)


class LatentCasePolicy(LatentBase):
    """Per case sampled for compliance: the policy article planted as violated, or none."""

    __tablename__ = "latent_case_policy"
    case_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    violated_article_id: Mapped[str | None] = mapped_column(String(18), nullable=True)
    channel: Mapped[str] = mapped_column(String(10), nullable=False)  # "email" or "chat"


class LatentArticleFact(LatentBase):
    """A question that a knowledge article answers, with the answer as stated in its body."""

    __tablename__ = "latent_article_fact"
    article_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    question: Mapped[str] = mapped_column(Text, nullable=False)
    answer: Mapped[str] = mapped_column(Text, nullable=False)


class OrgInfo(LatentBase):
    """Key/value facts about the generated org: seed, scale, flags, generator version."""

    __tablename__ = "org_info"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)
