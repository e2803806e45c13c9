"""Fixed catalog of the fictional retailer: issues, product kinds, categories, states, price books.

The generator draws from these lists with the seed; nothing here is random.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

COMPANY = "Stridewell Sports"
EMAIL_DOMAIN = "stridewell.example.com"
START = dt.datetime(2020, 1, 1)
END = dt.datetime(2025, 12, 31, 23, 59, 59)
DAYS = (END.date() - START.date()).days + 1


@dataclass(frozen=True)
class IssueKind:
    """One category of the issue taxonomy."""

    key: str
    name: str
    description: str
    natural_peak: int  # month the issue tends to peak in (latent peak is drawn around it)
    priority: str
    logistics: bool  # applies to any product (shipping and billing) rather than to a defect


ISSUES: tuple[IssueKind, ...] = (
    IssueKind("sizing", "Sizing / Fit", "The product runs too small, too large or fits badly.", 1, "Low", False),
    IssueKind("sole", "Sole Separation", "The sole or outsole comes apart from the upper.", 5, "Medium", False),
    IssueKind(
        "late", "Late Delivery", "The order arrived after the promised date or has not arrived.", 12, "Medium", True
    ),
    IssueKind("zipper", "Zipper Failure", "A zipper breaks, jams or splits.", 10, "Medium", False),
    IssueKind("fading", "Color Fading", "Colors fade or bleed after wearing or washing.", 7, "Low", False),
    IssueKind(
        "damaged", "Damaged on Arrival", "The product arrived torn, crushed, scuffed or broken.", 11, "High", True
    ),
    IssueKind("missing", "Missing Item", "An item of the order was not in the package.", 12, "High", True),
    IssueKind("refund", "Refund Delay", "A refund for a return has not been received.", 1, "Medium", True),
    IssueKind(
        "wrong", "Wrong Item Shipped", "The package contained a different product, size or color.", 11, "High", True
    ),
    IssueKind(
        "waterproof",
        "Waterproofing Failure",
        "The product lets water in despite being sold as waterproof.",
        10,
        "Medium",
        False,
    ),
)
ISSUE_BY_KEY = {issue.key: issue for issue in ISSUES}


@dataclass(frozen=True)
class ProductKind:
    """A type of product: the words of its name, what it is made of and what can go wrong."""

    noun: str  # the product type as it appears in the name, e.g. "Trail Jacket"
    family: str
    category: str
    materials: tuple[str, ...]
    uses: tuple[str, ...]
    defects: tuple[str, ...]  # issue keys a defect of this kind can cause
    price: tuple[int, int]
    peak: int  # natural sales and defect peak month


_SHOE = ("sizing", "sole")
PRODUCT_KINDS: tuple[ProductKind, ...] = (
    ProductKind(
        "Running Shoe",
        "Footwear",
        "Running Shoes",
        ("engineered mesh", "knit upper", "recycled mesh"),
        ("daily road running", "tempo runs", "marathon training"),
        (*_SHOE, "fading"),
        (90, 180),
        4,
    ),
    ProductKind(
        "Trail Running Shoe",
        "Footwear",
        "Running Shoes",
        ("ripstop mesh", "abrasion-resistant mesh"),
        ("technical trails", "muddy singletrack"),
        (*_SHOE, "waterproof"),
        (110, 190),
        5,
    ),
    ProductKind(
        "Hiking Boot",
        "Footwear",
        "Hiking & Outdoor Footwear",
        ("full-grain leather", "nubuck leather", "suede and mesh"),
        ("day hikes", "backpacking", "rocky terrain"),
        (*_SHOE, "waterproof"),
        (140, 260),
        9,
    ),
    ProductKind(
        "Basketball Shoe",
        "Footwear",
        "Court Shoes",
        ("synthetic leather", "knit upper"),
        ("indoor courts", "outdoor courts"),
        (*_SHOE, "fading"),
        (100, 200),
        11,
    ),
    ProductKind(
        "Tennis Shoe",
        "Footwear",
        "Court Shoes",
        ("synthetic leather", "mesh and TPU"),
        ("hard courts", "clay courts"),
        _SHOE,
        (80, 160),
        6,
    ),
    ProductKind(
        "Slide Sandal",
        "Footwear",
        "Sandals & Slides",
        ("EVA foam", "rubber"),
        ("post-workout recovery", "pool days"),
        ("sizing", "sole", "fading"),
        (25, 60),
        7,
    ),
    ProductKind(
        "Trail Jacket",
        "Apparel",
        "Outerwear",
        ("3-layer nylon shell", "recycled polyester shell"),
        ("wet-weather hiking", "trail runs in the rain"),
        ("zipper", "waterproof", "sizing"),
        (120, 280),
        10,
    ),
    ProductKind(
        "Down Parka",
        "Apparel",
        "Outerwear",
        ("goose down fill", "synthetic insulation"),
        ("winter commutes", "cold-weather travel"),
        ("zipper", "sizing", "waterproof"),
        (180, 350),
        12,
    ),
    ProductKind(
        "Rain Shell",
        "Apparel",
        "Outerwear",
        ("2.5-layer membrane", "packable nylon"),
        ("rainy commutes", "packable travel layer"),
        ("waterproof", "zipper", "fading"),
        (90, 190),
        10,
    ),
    ProductKind(
        "Fleece Hoodie",
        "Apparel",
        "Tops & Hoodies",
        ("brushed fleece", "recycled fleece"),
        ("cool mornings", "layering on the trail"),
        ("zipper", "fading", "sizing"),
        (55, 110),
        11,
    ),
    ProductKind(
        "Training Tee",
        "Apparel",
        "Tops & Hoodies",
        ("moisture-wicking polyester", "merino blend"),
        ("gym sessions", "hot-weather runs"),
        ("fading", "sizing"),
        (25, 55),
        6,
    ),
    ProductKind(
        "Running Tights",
        "Apparel",
        "Bottoms",
        ("compression knit", "brushed-back knit"),
        ("winter running", "long runs"),
        ("sizing", "fading"),
        (50, 110),
        1,
    ),
    ProductKind(
        "Training Shorts",
        "Apparel",
        "Bottoms",
        ("lightweight woven polyester", "stretch woven"),
        ("interval training", "summer runs"),
        ("sizing", "fading"),
        (30, 65),
        7,
    ),
    ProductKind(
        "Yoga Leggings",
        "Apparel",
        "Bottoms",
        ("buttery nylon-spandex", "recycled spandex"),
        ("yoga classes", "studio workouts"),
        ("sizing", "fading"),
        (60, 120),
        1,
    ),
    ProductKind(
        "Sports Bra",
        "Apparel",
        "Tops & Hoodies",
        ("high-support knit", "soft stretch jersey"),
        ("high-impact training", "running"),
        ("sizing", "fading"),
        (35, 75),
        3,
    ),
    ProductKind(
        "Swim Trunks",
        "Apparel",
        "Swimwear",
        ("quick-dry nylon", "chlorine-resistant polyester"),
        ("lap swimming", "beach days"),
        ("fading", "sizing"),
        (35, 70),
        6,
    ),
    ProductKind(
        "Backpack",
        "Accessories",
        "Bags & Packs",
        ("ripstop nylon", "waxed canvas"),
        ("commuting", "day hikes"),
        ("zipper", "waterproof", "fading"),
        (60, 160),
        8,
    ),
    ProductKind(
        "Duffel Bag",
        "Accessories",
        "Bags & Packs",
        ("coated polyester", "ballistic nylon"),
        ("gym trips", "weekend travel"),
        ("zipper", "fading"),
        (45, 120),
        1,
    ),
    ProductKind(
        "Running Cap",
        "Accessories",
        "Headwear & Socks",
        ("lightweight mesh", "perforated polyester"),
        ("sunny runs", "race day"),
        ("fading", "sizing"),
        (20, 40),
        6,
    ),
    ProductKind(
        "Cushioned Socks",
        "Accessories",
        "Headwear & Socks",
        ("merino wool blend", "nylon blend"),
        ("long runs", "hiking"),
        ("sizing", "fading"),
        (12, 28),
        11,
    ),
    ProductKind(
        "Yoga Mat",
        "Equipment",
        "Fitness Equipment",
        ("natural rubber", "TPE foam"),
        ("hot yoga", "home workouts"),
        ("fading", "damaged"),
        (40, 110),
        1,
    ),
    ProductKind(
        "Resistance Band Set",
        "Equipment",
        "Fitness Equipment",
        ("latex", "fabric-covered latex"),
        ("home workouts", "physical therapy"),
        ("damaged", "sizing"),
        (20, 50),
        1,
    ),
    ProductKind(
        "Water Bottle",
        "Equipment",
        "Fitness Equipment",
        ("insulated stainless steel", "BPA-free Tritan"),
        ("hydration on the go", "gym sessions"),
        ("damaged", "fading"),
        (18, 45),
        7,
    ),
)

PRODUCT_LINES: tuple[str, ...] = (
    "Aerolite",
    "Summit",
    "Ridgeback",
    "Tempo",
    "Vantage",
    "Stratus",
    "Cascade",
    "Ember",
    "Nimbus",
    "Velocity",
    "Horizon",
    "Granite",
    "Zephyr",
    "Torrent",
    "Apex",
    "Drift",
    "Pinnacle",
    "Solstice",
    "Boulder",
    "Tidal",
    "Kestrel",
    "Meridian",
    "Halo",
    "Sierra",
    "Quarry",
    "Nova",
    "Talon",
    "Orbit",
    "Pulse",
    "Glacier",
    "Sprint",
    "Terra",
    "Vista",
    "Canyon",
    "Aurora",
    "Breaker",
    "Falcon",
    "Juniper",
    "Lumen",
    "Mosaic",
)
PRODUCT_EDITIONS: tuple[str, ...] = ("", "", "", " 2", " 3", " Pro", " Lite", " GTX", " Elite", " Flex")
COLORS: tuple[str, ...] = (
    "black",
    "navy",
    "slate grey",
    "forest green",
    "glacier blue",
    "ember red",
    "sand",
    "white",
    "volt yellow",
    "plum",
    "charcoal",
    "coral",
)

CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(kind.category for kind in PRODUCT_KINDS))

# State code, name, cities, relative share of customers.
STATES: tuple[tuple[str, str, tuple[str, ...], int], ...] = (
    ("AL", "Alabama", ("Birmingham", "Huntsville"), 5),
    ("AK", "Alaska", ("Anchorage", "Fairbanks"), 1),
    ("AZ", "Arizona", ("Phoenix", "Tucson"), 7),
    ("AR", "Arkansas", ("Little Rock", "Fayetteville"), 3),
    ("CA", "California", ("Los Angeles", "San Diego", "San Jose", "Sacramento"), 39),
    ("CO", "Colorado", ("Denver", "Boulder"), 6),
    ("CT", "Connecticut", ("Hartford", "New Haven"), 4),
    ("DE", "Delaware", ("Wilmington", "Dover"), 1),
    ("FL", "Florida", ("Miami", "Orlando", "Tampa"), 22),
    ("GA", "Georgia", ("Atlanta", "Savannah"), 11),
    ("HI", "Hawaii", ("Honolulu", "Hilo"), 1),
    ("ID", "Idaho", ("Boise", "Idaho Falls"), 2),
    ("IL", "Illinois", ("Chicago", "Springfield"), 13),
    ("IN", "Indiana", ("Indianapolis", "Fort Wayne"), 7),
    ("IA", "Iowa", ("Des Moines", "Cedar Rapids"), 3),
    ("KS", "Kansas", ("Wichita", "Overland Park"), 3),
    ("KY", "Kentucky", ("Louisville", "Lexington"), 4),
    ("LA", "Louisiana", ("New Orleans", "Baton Rouge"), 5),
    ("ME", "Maine", ("Portland", "Bangor"), 1),
    ("MD", "Maryland", ("Baltimore", "Annapolis"), 6),
    ("MA", "Massachusetts", ("Boston", "Worcester"), 7),
    ("MI", "Michigan", ("Detroit", "Grand Rapids"), 10),
    ("MN", "Minnesota", ("Minneapolis", "Saint Paul"), 6),
    ("MS", "Mississippi", ("Jackson", "Gulfport"), 3),
    ("MO", "Missouri", ("Kansas City", "St. Louis"), 6),
    ("MT", "Montana", ("Billings", "Missoula"), 1),
    ("NE", "Nebraska", ("Omaha", "Lincoln"), 2),
    ("NV", "Nevada", ("Las Vegas", "Reno"), 3),
    ("NH", "New Hampshire", ("Manchester", "Concord"), 1),
    ("NJ", "New Jersey", ("Newark", "Jersey City"), 9),
    ("NM", "New Mexico", ("Albuquerque", "Santa Fe"), 2),
    ("NY", "New York", ("New York", "Buffalo", "Rochester"), 19),
    ("NC", "North Carolina", ("Charlotte", "Raleigh"), 10),
    ("ND", "North Dakota", ("Fargo", "Bismarck"), 1),
    ("OH", "Ohio", ("Columbus", "Cleveland", "Cincinnati"), 12),
    ("OK", "Oklahoma", ("Oklahoma City", "Tulsa"), 4),
    ("OR", "Oregon", ("Portland", "Eugene"), 4),
    ("PA", "Pennsylvania", ("Philadelphia", "Pittsburgh"), 13),
    ("RI", "Rhode Island", ("Providence", "Warwick"), 1),
    ("SC", "South Carolina", ("Charleston", "Columbia"), 5),
    ("SD", "South Dakota", ("Sioux Falls", "Rapid City"), 1),
    ("TN", "Tennessee", ("Nashville", "Memphis"), 7),
    ("TX", "Texas", ("Houston", "Austin", "Dallas", "San Antonio"), 30),
    ("UT", "Utah", ("Salt Lake City", "Provo"), 3),
    ("VT", "Vermont", ("Burlington", "Montpelier"), 1),
    ("VA", "Virginia", ("Richmond", "Virginia Beach"), 9),
    ("WA", "Washington", ("Seattle", "Spokane"), 8),
    ("WV", "West Virginia", ("Charleston", "Morgantown"), 2),
    ("WI", "Wisconsin", ("Milwaukee", "Madison"), 6),
    ("WY", "Wyoming", ("Cheyenne", "Casper"), 1),
)
TIME_ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")


@dataclass(frozen=True)
class PriceBookWindow:
    """A seasonal price book: its name, validity and discount range."""

    name: str
    description: str
    start: dt.datetime
    end: dt.datetime  # exclusive
    discount: tuple[float, float]


def seasonal_price_books() -> list[PriceBookWindow]:
    """The seasonal price books of every year of the time span, in date order."""
    books: list[PriceBookWindow] = []
    for year in range(START.year, END.year + 1):
        books += [
            PriceBookWindow(
                f"Spring Sale {year}",
                "Spring running and training promotion.",
                dt.datetime(year, 3, 15),
                dt.datetime(year, 4, 15),
                (0.10, 0.20),
            ),
            PriceBookWindow(
                f"Summer Clearance {year}",
                "End-of-summer clearance on warm-weather gear.",
                dt.datetime(year, 7, 15),
                dt.datetime(year, 8, 31),
                (0.15, 0.35),
            ),
            PriceBookWindow(
                f"Black Friday {year}",
                "Black Friday and Cyber Monday prices.",
                dt.datetime(year, 11, 20),
                dt.datetime(year, 12, 3),
                (0.20, 0.40),
            ),
        ]
    return books
