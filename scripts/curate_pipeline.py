"""The ``japan-export-pipeline`` dataset: Japan's committed and prospective deals, every figure sourced.

Used by ``curate_data.py``. Committed rows (``delivering``, ``ordered``) take
their units, TIV per unit, order year and past deliveries from SIPRI's Trade
Register; announced rows take their facts from the policy timeline's sources;
everything neither publishes is tivcast's stated assumption, with a low /
central / high range and the reasoning, and says so in its ``source_*`` column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

PIPELINE_COLUMNS = (
    "deal_id", "recipient_code", "recipient_name", "system", "status", "order_year", "units_ordered",
    "units_delivered", "units_remaining_low", "units_remaining_high", "tiv_per_unit_low", "tiv_per_unit_central",
    "tiv_per_unit_high", "delivery_years", "probability_baseline", "probability_liberalised",
    "requires_liberalisation", "slip_probability", "past_deliveries", "register_deal_id", "depends_on",
    "source_units", "source_tiv_per_unit", "source_delivery_years", "source_probability", "source_slip",
    "source_requires_liberalisation", "source_past_deliveries", "tivcast_assumptions", "reasoning",
)

LICENSED = ("SIPRI's register counts licensed production in the licensor's exports (its Japan rows: the 180 "
            "Beechjet-400 'produced under licence in USA', the Vertol-107 'assembled/produced under licence in "
            "Sweden', the Jija Bai patrol boats 'incl 3 produced in India'), so the 8 Australian-built ships are "
            "counted as Japan's exports, in a line of their own")
NOT_BLOCKED = ("tivcast assumption: not blocked; tivcast's reading that the transfer is not held to the five "
               "categories of finished equipment, because the guidelines permit transfers for international joint "
               "development and production with a security partner, the framework under which the frigate has been "
               "presented (a judgement, not a published ruling)")
# SIPRI's Trade Register (March 2025 release) values for comparable ships Australia has bought, the yardstick of
# tivcast's 400 TIV million per Mogami-class frigate (about 5,500 t).
COMPARABLE = ("SIPRI's register values comparable ships Australia bought at 251.25 TIV million (the MEKO-200ANZ "
              "frigate, Anzac class, from Germany, 1989), 300 (the Perry frigate, Adelaide class, from the United "
              "States), 479.5 (the BPE amphibious assault ship, Canberra class, from Spain, 2007) and 499 (the "
              "Hobart destroyer, from Spain, 2007, produced under licence in Australia and counted at that value "
              "in Spain's exports)")
ASSUMED_FIGURES = "units;tiv_per_unit;delivery_years;probability;slip;requires_liberalisation"

# Figures that neither SIPRI nor an official statement gives: tivcast's assumptions, stated per row.
ASSUMED: list[dict[str, str]] = [
    {
        "deal_id": "aus-mogami-frigates", "recipient_code": "AUS", "recipient_name": "Australia",
        "system": "Upgraded Mogami-class frigate built in Japan (SEA 3000; the first 3 of 11 ships)",
        "status": "selected",
        "order_year": "2026", "units_ordered": "3", "units_delivered": "0", "units_remaining_low": "",
        "units_remaining_high": "", "tiv_per_unit_low": "250", "tiv_per_unit_central": "400",
        "tiv_per_unit_high": "550", "delivery_years": "2029;2030;2031", "probability_baseline": "0.75",
        "probability_liberalised": "0.85", "requires_liberalisation": "false", "slip_probability": "0.35",
        "past_deliveries": "", "register_deal_id": "",
        "source_units": "Published statement (Australian Minister for Defence, 2025-08-05, in the policy timeline): "
        "11 frigates, 3 built in Japan, 8 in Australia; this line counts the 3 built in Japan, the 8 built in "
        "Australia under licence are the line aus-mogami-frigates-australian-built",
        "source_tiv_per_unit": "tivcast assumption: no SIPRI figure exists for this ship; 400 TIV million per ship "
        "(range 250-550), tivcast's judgement for a modern frigate of about 5,500 t, not SIPRI's value: "
        + COMPARABLE + "; the range runs from the Anzac frigate to the Hobart destroyer, the central value "
        "between the older, smaller Perry and Anzac frigates and the larger Hobart destroyer",
        "source_delivery_years": "tivcast assumption: one Japanese-built ship a year in 2029-2031, after binding "
        "contracts targeted for 2026",
        "source_probability": "tivcast assumption: 0.75 in the baseline (a preferred-platform selection with "
        "contracts targeted for 2026; not yet binding), 0.85 if Japan eases its rules further",
        "source_requires_liberalisation": NOT_BLOCKED, "depends_on": "", "source_past_deliveries": "",
        "tivcast_assumptions": "tiv_per_unit;delivery_years;probability;slip;requires_liberalisation",
        "source_slip": "tivcast assumption: a 35 % chance per year of a slip (a first export of a major warship)",
        "reasoning": "Selected but not contracted. Were it signed, it would be by far Japan's largest export: three "
        "ships at 400 TIV million each (1,200) are about two thirds of all of Japan's arms exports of 1950-2024 "
        "(1,845 TIV million in SIPRI's series); the whole programme of 11 ships (4,400) is more than twice them.",
    },
    {
        "deal_id": "aus-mogami-frigates-australian-built", "recipient_code": "AUS", "recipient_name": "Australia",
        "system": "Upgraded Mogami-class frigate built in Australia under licence (SEA 3000; the other 8 of 11 "
        "ships)", "status": "selected",
        "order_year": "2026", "units_ordered": "8", "units_delivered": "0", "units_remaining_low": "",
        "units_remaining_high": "", "tiv_per_unit_low": "250", "tiv_per_unit_central": "400",
        "tiv_per_unit_high": "550", "delivery_years": "2033;2034;2035;2036;2037;2038;2039;2040",
        "probability_baseline": "0.65", "probability_liberalised": "0.75", "requires_liberalisation": "false",
        "slip_probability": "0.4", "past_deliveries": "", "register_deal_id": "",
        "depends_on": "aus-mogami-frigates", "source_past_deliveries": "",
        "tivcast_assumptions": "tiv_per_unit;delivery_years;probability;slip;requires_liberalisation",
        "source_units": "Published statement (Australian Minister for Defence, 2025-08-05, in the policy timeline): "
        "11 frigates, 3 built in Japan, 8 in Australia. " + LICENSED,
        "source_tiv_per_unit": "tivcast assumption: 400 TIV million per ship (range 250-550), as for the "
        "Japanese-built ships, and drawn with them (one design, one price): SIPRI prices a unit produced under "
        "licence at the system's TIV (its Beechjet-400 row: 180 aircraft produced under licence in the USA at "
        "3.6 TIV million each, 648 in all; its Hobart row: 3 destroyers produced under licence in Australia at "
        "499 each in Spain's exports); not SIPRI's value for this ship, which has none; " + COMPARABLE,
        "source_delivery_years": "tivcast assumption: one ship a year in 2033-2040, after the three Japanese-built "
        "ships (2029-2031) and the set-up of a production line in Australia; no schedule is published. The year "
        "without a scheduled delivery, 2032, is tivcast's assumption too: a yard's first hull of a class takes "
        "longer than the build rate that follows, so the Australian line is assumed to start a year after the "
        "last Japanese-built ship; the point's 2032 dip comes from it, and the slips of either line fill it in "
        "part of the simulated paths",
        "source_probability": "tivcast assumption: 0.65 in the baseline, below the Japanese-built ships' 0.75: the "
        "same contract has to be signed (this line depends_on aus-mogami-frigates: it happens only if that "
        "contract does, with probability 0.65 / 0.75 = 0.87 given it) and a yard and workforce in Australia "
        "still have to be set up; 0.75 if Japan eases its rules further",
        "source_requires_liberalisation": NOT_BLOCKED,
        "source_slip": "tivcast assumption: a 40 % chance per year of a slip (a first build of the class in a new "
        "yard)",
        "reasoning": "The licence-built part of Australia's selection, counted in Japan's exports as SIPRI's "
        "register counts licensed production in the licensor's exports. Its deliveries start late in a 10-year "
        "forecast. It hangs on the same contract as the Japanese-built ships (depends_on): the simulation draws "
        "it only in the paths where that contract is signed, with the same TIV per unit.",
    },
    {
        "deal_id": "escort-transfer-prospect", "recipient_code": "PHL", "recipient_name": "Philippines",
        "system": "Retired Japanese destroyer escorts (finished combat equipment outside the five permitted "
        "categories)", "status": "prospect", "order_year": "2027", "units_ordered": "2", "units_delivered": "0",
        "units_remaining_low": "", "units_remaining_high": "", "tiv_per_unit_low": "30",
        "tiv_per_unit_central": "60", "tiv_per_unit_high": "100", "delivery_years": "2028;2029",
        "probability_baseline": "0", "probability_liberalised": "0.5", "requires_liberalisation": "true",
        "slip_probability": "0.3", "past_deliveries": "", "register_deal_id": "", "depends_on": "",
        "source_past_deliveries": "", "tivcast_assumptions": ASSUMED_FIGURES,
        "source_units": "tivcast assumption: a hypothetical transfer of 2 retired escort ships to a partner navy in "
        "South-East Asia",
        "source_tiv_per_unit": "tivcast assumption: 60 TIV million per second-hand ship (range 30-100), not a "
        "SIPRI figure",
        "source_delivery_years": "tivcast assumption: 2028-2029",
        "source_probability": "tivcast assumption: 0 in the baseline, because today's rules block it "
        "(source_requires_liberalisation); 0.5 if Japan lifts the five-category limit",
        "source_requires_liberalisation": "tivcast assumption: blocked under today's rules (finished equipment is "
        "limited to rescue, transport, warning, surveillance and minesweeping; escort ships are combat ships)",
        "source_slip": "tivcast assumption: a 30 % chance per year of a slip",
        "reasoning": "Illustrates what the liberalisation scenario opens: a deal that today's five-category rule "
        "blocks. Hypothetical; no announcement exists.",
    },
]

COMMITTED: list[dict[str, str]] = [
    {
        "deal_id": "phl-jfps3-radars", "match_recipient": "PHL", "match_designation": "J/FPS-3",
        "system": "J/FPS-3 air search radar (Air Surveillance Radar System)", "status": "delivering",
        "delivery_years": "2025;2026", "slip_probability": "0", "units_remaining_low": "",
        "units_remaining_high": "",
        "source_delivery_years": "tivcast assumption on SIPRI's comment 'delivery planned by 2026': tivcast spreads "
        "the 2 remaining units over 2025 and 2026, one a year",
        "source_probability": "committed: SIPRI records the order (and the 2020-08-28 contract announcement in the "
        "policy timeline)",
        "source_slip": "tivcast assumption: no slip, the register's plan held ('delivery planned by 2026', SIPRI's "
        "comment): half of the order is delivered, from a production line already running; a later delivery is a "
        "custom scenario's delivery_years edit",
        "source_requires_liberalisation": "not blocked: the transfer is under way (SIPRI records the order and "
        "deliveries in 2023-2024) as a warning-and-surveillance export, one of the five permitted categories",
        "tivcast_assumptions": "delivery_years;slip;past_deliveries",
        "tiv_note": "; the 2020-08-28 contract in the policy timeline names 3 fixed J/FPS-3 and 1 mobile TPS-P14 "
        "radar, while SIPRI's register lists 4 J/FPS-3 at 13 each: the mobile TPS-P14 is priced at that J/FPS-3 "
        "figure, SIPRI's valuation of the order as recorded (no separate figure for it exists)",
        "reasoning": "The first export of finished Japanese equipment under the 2014 principles; half delivered, "
        "the rest due by 2026 by SIPRI's comment.",
    },
    {
        "deal_id": "usa-pac3-mse", "match_recipient": "USA", "match_designation": "MIM-104 PAC-3 MSE",
        "system": "MIM-104 PAC-3 MSE missile (US design produced in Japan)", "status": "ordered",
        "delivery_years": "2025;2026;2027", "slip_probability": "0.3", "units_ordered_assumed": "30",
        "units_remaining_low": "10", "units_remaining_high": "60",
        "source_units": "tivcast assumption: SIPRI records the order without a number and none is published; 30 "
        "missiles (range 10-60) over 2025-2027",
        "source_delivery_years": "tivcast assumption: 2025-2027 (the order was recorded in 2024; none delivered by "
        "SIPRI's March 2025 release)",
        "source_probability": "committed: SIPRI records the order; the 2023-12-22 policy revision decided the "
        "transfer of Patriot missiles to the United States",
        "source_slip": "tivcast assumption: a 30 % chance per year of a slip (a production line being expanded)",
        "source_requires_liberalisation": "not blocked: the 2023-12-22 policy revision allows returning licensed "
        "production to the licensor (policy timeline)",
        "tivcast_assumptions": "units;delivery_years;slip",
        "reasoning": "Licensed production returned to the licensor, allowed since the December 2023 revision. The "
        "quantity is the main unknown: change 'units' in a custom scenario to test it.",
    },
]


def _number(text: str) -> str:
    value = float(text)
    return str(int(value)) if value.is_integer() else format(value, "g")


def committed_row(spec: Mapping[str, str], deals: Sequence[Mapping[str, str]], register_ids: Mapping[int, str]
                  ) -> list[str]:
    """A committed deal from its register row (units, TIV per unit, order year, past deliveries)."""
    matches = [(i, d) for i, d in enumerate(deals) if d["recipient_code"] == spec["match_recipient"]
               and d["weapon_designation"] == spec["match_designation"]]
    if len(matches) != 1:
        raise SystemExit(f"pipeline: {spec['deal_id']} matches {len(matches)} register rows")
    index, row = matches[0]
    delivered = float(row["number_delivered"] or 0)
    years = [y.strip() for y in row["years_of_delivery"].split(";") if y.strip()]
    past = ";".join(f"{y}:{_number(str(float(row['tiv_delivered_million']) / len(years)))}" for y in years)
    ordered = row["number_ordered"] or spec["units_ordered_assumed"]
    out = {
        "deal_id": spec["deal_id"], "recipient_code": row["recipient_code"], "recipient_name": row["recipient_name"],
        "system": spec["system"], "status": spec["status"], "order_year": row["year_of_order"],
        "units_ordered": _number(ordered), "units_delivered": _number(str(delivered)),
        "units_remaining_low": spec["units_remaining_low"], "units_remaining_high": spec["units_remaining_high"],
        "tiv_per_unit_low": _number(row["tiv_per_unit_million"]),
        "tiv_per_unit_central": _number(row["tiv_per_unit_million"]),
        "tiv_per_unit_high": _number(row["tiv_per_unit_million"]), "delivery_years": spec["delivery_years"],
        "probability_baseline": "1", "probability_liberalised": "1", "requires_liberalisation": "false",
        "slip_probability": spec["slip_probability"], "past_deliveries": past,
        "register_deal_id": register_ids[index],
        "source_units": spec.get("source_units") or f"SIPRI Trade Register (March 2025 release): "
        f"{_number(ordered)} ordered in {row['year_of_order']} and {_number(str(delivered))} delivered in "
        f"{'-'.join([years[0], years[-1]]) if years else 'none'}",
        "source_tiv_per_unit": f"SIPRI Trade Register: {_number(row['tiv_per_unit_million'])} TIV million per unit"
        + (f" ({_number(row['tiv_delivered_million'])} delivered of {_number(row['tiv_total_order_million'])} "
           "ordered)" if delivered else "") + spec.get("tiv_note", ""),
        "source_delivery_years": spec["source_delivery_years"], "source_probability": spec["source_probability"],
        "source_slip": spec["source_slip"], "depends_on": "",
        "source_requires_liberalisation": spec["source_requires_liberalisation"],
        "source_past_deliveries": "" if not years else f"SIPRI Trade Register: "
        f"{_number(row['tiv_delivered_million'])} TIV million delivered over '{row['years_of_delivery']}'; tivcast "
        f"splits it equally by year ({past.replace(';', ', ')}), SIPRI gives no yearly figure per deal",
        "tivcast_assumptions": spec["tivcast_assumptions"], "reasoning": spec["reasoning"],
    }
    return [out[c] for c in PIPELINE_COLUMNS]


def build_pipeline(deals: Sequence[Mapping[str, str]]) -> list[list[str]]:
    """Rows of the pipeline: committed deals from the register, then the announced and assumed ones."""
    register_ids = {i: str(i + 1) for i in range(len(deals))}  # deal_id of japan-export-deals: 1-based row number
    rows = [committed_row(spec, deals, register_ids) for spec in COMMITTED]
    return rows + [[row[c] for c in PIPELINE_COLUMNS] for row in ASSUMED]


def pipeline_fields() -> list[dict[str, Any]]:
    def field(name: str, kind: str, description: str) -> dict[str, Any]:
        return {"name": name, "type": kind, "description": description}

    return [
        {**field("deal_id", "string", "tivcast's identifier of the deal (scenarios refer to it)."),
         "constraints": {"required": True, "unique": True}},
        field("recipient_code", "string", "Recipient code (countries resource)."),
        field("recipient_name", "string", "Recipient."),
        field("system", "string", "The system and what is counted."),
        field("status", "string", "delivering | ordered (committed: SIPRI records the order) | selected (announced, "
              "not contracted) | prospect (neither)."),
        field("order_year", "integer", "Year of order, or of the expected contract."),
        field("units_ordered", "number", "Units ordered (see source_units)."),
        field("units_delivered", "number", "Units delivered by the register's release."),
        field("units_remaining_low", "number", "Low end of the remaining units when tivcast assumes them."),
        field("units_remaining_high", "number", "High end of the remaining units when tivcast assumes them."),
        field("tiv_per_unit_low", "number", "TIV million per unit, low."),
        field("tiv_per_unit_central", "number", "TIV million per unit, central."),
        field("tiv_per_unit_high", "number", "TIV million per unit, high."),
        field("delivery_years", "string", "Years the remaining units are delivered in, `;`-separated."),
        field("probability_baseline", "number", "Probability the deal happens under today's rules (1: committed)."),
        field("probability_liberalised", "number", "Probability if Japan lifts the five-category limit."),
        field("requires_liberalisation", "boolean", "Blocked by today's five-category rule."),
        field("slip_probability", "number", "Chance per year that the deliveries slip by a year (up to 3)."),
        field("past_deliveries", "string", "TIV delivered by year (`year:TIV;...`): the register's delivered "
              "TIV of the deal, split by year as source_past_deliveries says."),
        field("register_deal_id", "integer", "deal_id in japan-export-deals, for committed deals."),
        field("depends_on", "string", "The deal_id of the contract this line hangs on (empty: none): the line "
              "happens only if that deal does and shares its TIV per unit draw; validated at ingest (a deal of "
              "the table, itself independent, at least as likely)."),
        field("source_units", "string", "Where the units come from (SIPRI, a statement, or tivcast's assumption)."),
        field("source_tiv_per_unit", "string", "Where the TIV per unit comes from."),
        field("source_delivery_years", "string", "Where the delivery years come from."),
        field("source_probability", "string", "Where the probability comes from."),
        field("source_slip", "string", "Where the slip probability comes from."),
        field("source_requires_liberalisation", "string", "Where requires_liberalisation comes from."),
        field("source_past_deliveries", "string", "Where past_deliveries comes from."),
        field("tivcast_assumptions", "string", "The figures of this row that are tivcast's own assumptions, "
              "`;`-separated (units, tiv_per_unit, delivery_years, probability, slip, requires_liberalisation, "
              "past_deliveries); the others are SIPRI's or a published statement's."),
        field("reasoning", "string", "Why the deal is in the pipeline, in a sentence an analyst can quote."),
    ]
