"""Fixed catalog of the fictional retailer: issues, product kinds, categories, states, price books.

The generator draws from these lists with the seed; nothing here is random.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

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

    @property
    def spec(self) -> KindSpec:
        """The physical facts of this kind of product (weights, sizes, care)."""
        return KIND_SPECS[self.noun]

    @property
    def plural(self) -> bool:
        """True when the product's name is a plural noun ("... Shorts are")."""
        return self.spec.plural


@dataclass(frozen=True)
class KindSpec:
    """What a kind of product weighs, the sizes it comes in, how it is cared for and what it offers.

    Weights are grams per pair for footwear and socks, per item otherwise; every weight a
    description, guide, case or email states lies in `weight` (checked by ``org check``)."""

    plural: bool
    weight: tuple[int, int]
    sizes: str
    care: tuple[str, ...]
    features: tuple[str, ...]
    unit: str = "item"  # what one is called in a sentence: "pair", "jacket" ...


_SHOE_SIZES = "US men's 7–14 and women's 5–12, in half sizes"
_APPAREL_SIZES = "XS to XXL"
_SHOE_CARE = (
    "Brush off dirt after each use and let them air dry away from direct heat.",
    "Remove the insoles to dry them separately; never put the shoes in a washing machine or dryer.",
)
KIND_SPECS: dict[str, KindSpec] = {
    "Running Shoe": KindSpec(
        False, (480, 640), _SHOE_SIZES, _SHOE_CARE,
        ("a responsive foam midsole", "an 8 mm heel-to-toe drop", "a padded tongue and heel collar"), "pair",
    ),
    "Trail Running Shoe": KindSpec(
        False, (560, 720), _SHOE_SIZES, _SHOE_CARE,
        ("4 mm multidirectional lugs", "a rock plate under the forefoot", "a gusseted tongue that keeps grit out"),
        "pair",
    ),
    "Hiking Boot": KindSpec(
        False, (1050, 1500), _SHOE_SIZES, (*_SHOE_CARE, "Treat the leather with a wax conditioner twice a season."),
        ("a waterproof membrane", "a grippy rubber outsole with 5 mm lugs", "a supportive mid-cut ankle collar"),
        "pair",
    ),
    "Basketball Shoe": KindSpec(
        False, (700, 900), _SHOE_SIZES, _SHOE_CARE,
        ("a high-top collar for ankle support", "a herringbone traction pattern", "cushioned forefoot pods"), "pair",
    ),
    "Tennis Shoe": KindSpec(
        False, (620, 800), _SHOE_SIZES, _SHOE_CARE,
        ("a durable toe drag guard", "a modified herringbone outsole", "a stable lateral sidewall"), "pair",
    ),
    "Slide Sandal": KindSpec(
        False, (250, 420), "US 5–14 in whole sizes",
        ("Rinse with fresh water after pool or beach use and dry in the shade.",),
        ("a contoured footbed", "a one-piece molded strap", "a soft cushioning foam"), "pair",
    ),
    "Trail Jacket": KindSpec(
        False, (330, 520), _APPAREL_SIZES,
        ("Machine wash warm with a technical wash; tumble dry low to reactivate the water repellency.",),
        ("taped seams", "pit zips for ventilation", "an adjustable helmet-compatible hood"), "jacket",
    ),
    "Down Parka": KindSpec(
        False, (850, 1350), _APPAREL_SIZES,
        ("Machine wash cold on a gentle cycle with a down wash; tumble dry low with dryer balls.",),
        ("a 700-fill insulated hood", "fleece-lined hand pockets", "a two-way front zipper"), "parka",
    ),
    "Rain Shell": KindSpec(
        False, (220, 380), _APPAREL_SIZES,
        ("Machine wash warm, close all zips and tumble dry low.",),
        ("a packable stuff pocket", "fully taped seams", "an adjustable hem"), "jacket",
    ),
    "Fleece Hoodie": KindSpec(
        False, (380, 620), _APPAREL_SIZES,
        ("Machine wash cold inside out; do not use fabric softener, which flattens the fleece.",),
        ("a full-length front zipper", "thumb loops", "zippered hand pockets"), "hoodie",
    ),
    "Training Tee": KindSpec(
        False, (110, 190), _APPAREL_SIZES,
        ("Machine wash cold with similar colors and hang to dry.",),
        ("flatlock seams that don't chafe", "an odor-control finish", "reflective details"), "tee",
    ),
    "Running Tights": KindSpec(
        True, (170, 280), _APPAREL_SIZES,
        ("Machine wash cold inside out and hang to dry; no fabric softener.",),
        ("a zippered back pocket", "reflective ankle details", "a wide flat waistband"), "pair",
    ),
    "Training Shorts": KindSpec(
        True, (120, 220), _APPAREL_SIZES,
        ("Machine wash cold and tumble dry low.",),
        ("a built-in brief liner", "a zippered key pocket", "laser-cut vents"), "pair",
    ),
    "Yoga Leggings": KindSpec(
        True, (180, 290), _APPAREL_SIZES,
        ("Machine wash cold inside out and lay flat to dry.",),
        ("a high-rise waistband", "a hidden waistband pocket", "squat-proof fabric"), "pair",
    ),
    "Sports Bra": KindSpec(
        False, (70, 140), "XS to XL with cup-sized options",
        ("Hand wash or machine wash cold in a laundry bag; hang to dry.",),
        ("removable pads", "adjustable racerback straps", "a hook-and-eye back closure"), "bra",
    ),
    "Swim Trunks": KindSpec(
        True, (150, 260), "S to XXL",
        ("Rinse in cold fresh water after each swim and dry in the shade.",),
        ("a mesh liner", "a drawcord waist", "a zippered back pocket"), "pair",
    ),
    "Backpack": KindSpec(
        False, (650, 1400), "one size, 22 to 30 liters",
        ("Spot clean with mild soap and a soft brush; empty it and hang it open to dry.",),
        ("a padded 15-inch laptop sleeve", "a hydration sleeve", "ventilated back panel"), "pack",
    ),
    "Duffel Bag": KindSpec(
        False, (800, 1500), "40 and 60 liters",
        ("Wipe clean with a damp cloth; let it dry fully before storing.",),
        ("a separate shoe compartment", "removable shoulder strap", "water-resistant base"), "bag",
    ),
    "Running Cap": KindSpec(
        False, (50, 90), "one size with an adjustable strap",
        ("Hand wash in cool water and air dry on a rounded form.",),
        ("a sweat-wicking headband", "a quick-dry brim", "reflective trim"), "cap",
    ),
    "Cushioned Socks": KindSpec(
        True, (40, 80), "S, M, L and XL (by shoe size)",
        ("Machine wash warm inside out; tumble dry low.",),
        ("targeted cushioning at the heel and forefoot", "a seamless toe", "arch compression"), "pair",
    ),
    "Yoga Mat": KindSpec(
        False, (1200, 2600), "183 x 61 cm, 4 or 6 mm thick",
        ("Wipe with a damp cloth and mild soap; keep it out of direct sunlight.",),
        ("a non-slip textured surface", "alignment lines", "a carrying strap"), "mat",
    ),
    "Resistance Band Set": KindSpec(
        False, (300, 650), "five resistance levels, 5 to 40 lb",
        ("Wipe with a damp cloth and store away from heat and sunlight.",),
        ("padded handles", "a door anchor", "a mesh carry bag"), "set",
    ),
    "Water Bottle": KindSpec(
        False, (180, 420), "24 and 32 oz",
        ("Hand wash with warm soapy water; the lid is top-rack dishwasher safe.",),
        ("a leak-proof lid", "a wide mouth that fits ice cubes", "a powder-coated finish"), "bottle",
    ),
}  # fmt: skip


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


@lru_cache(maxsize=4096)
def kind_of(product_name: str) -> ProductKind:
    """The kind of a product from its name (the longest kind noun it ends with)."""
    kinds = [kind for kind in PRODUCT_KINDS if product_name.endswith(kind.noun)]
    if not kinds:
        raise KeyError(f"no product kind in {product_name!r}")
    return max(kinds, key=lambda kind: len(kind.noun))
