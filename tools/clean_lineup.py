"""Build ``alliance_fin/data/lineup.csv`` from the shared draft line-up.

Run once by a developer (``python tools/clean_lineup.py ../shared/reference``); the
output is committed. Every cleaning decision made here is listed, row by row, in
``alliance_fin/data/README.md``. This script is kept so that the packaged data can be
traced back to the draft it came from.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "alliance_fin" / "data" / "lineup.csv"

SEGMENTS = {"A (kei)": "kei", "B/C": "C", "C/D": "C", "D/E": "D"}
REGION_CODES = {
    "global": "Global", "export": "Global", "IN (+export)": "IN",
}
PLATFORMS = {
    "CMF-BEV / AmpR Small": "CMF-BEV",
    "CMF-B-derived (shared with Kardian)": "CMF-B-derived",
    "Nissan frame (shared w/ Alaskan)": "Nissan frame",
    "dedicated (B0-derived)": "dedicated (Zoe)",
}
# Family regrouping: one leader per family, split by platform generation.
FAMILY = {
    "N02": "F01-2", "R02": "F01-2",
    "N03": "", "M03": "", "R06": "", "D01": "", "D03": "", "R10": "",
    "N10": "", "M04": "", "R17": "", "R18": "", "N13": "", "N15": "",
    "N12": "F10-2", "M05": "F10-2", "R14": "F10-2",
    "M08": "F14-2", "N19": "F14-2",
    "R19": "F11", "N14": "F11",
}
ROLE = {"D03": "standalone", "R10": "standalone", "R17": "standalone"}
LAUNCH = {"2025–26": "2026"}

COLUMNS = [
    "model_id", "member", "brand", "model_name", "segment", "body", "platform", "region",
    "plant", "launch_year", "end_year", "annual_volume", "family_id", "role",
    "common_platform", "trim", "dev_cost_eur_m", "source", "notes",
]
PROV = {
    "segment": "seg", "body": "body", "platform": "platform", "region": "region",
    "plant": "plant", "launch_year": "launch", "end_year": "eol",
    "annual_volume": "vol", "family_id": "family", "role": "role",
    "common_platform": "cp", "trim": "trim",
}


def clean_prov(text: str) -> str:
    """``'S:1,2'`` -> ``'S:1; S:2'``; ``'A (analyst ...)'`` -> ``'A'``; blank -> ``'A'``."""
    text = text.strip()
    if not text:
        return "A"
    keys = []
    for part in re.split(r"[;]", text):
        part = part.strip()
        if part.startswith("S:"):
            keys += [f"S:{k.strip()}" for k in part[2:].split(",") if k.strip()]
        elif part[:1] in {"A", "D"}:
            keys.append(part[:1])
    return "; ".join(dict.fromkeys(keys)) or "A"


def clean_trim(text: str) -> tuple[str, str]:
    text = text.strip()
    head = re.split(r"[ ;(]", text, maxsplit=1)[0]
    note = text[len(head):].strip(" ;") if text != head else ""
    if note.startswith("(") and note.endswith(")") and note.count("(") == 1:
        note = note[1:-1]
    return head, note


def main(ref_dir: str) -> None:
    src = Path(ref_dir) / "alliance_lineup_draft.csv"
    rows = list(csv.DictReader(src.open(encoding="utf-8")))
    out_rows = []
    for r in rows:
        mid = r["id"]
        family = FAMILY.get(mid, r["family"].split(" ")[0] if r["family"] != "—" else "")
        role = ROLE.get(mid, r["role"].split(" ")[0])
        if not family and role != "standalone":
            role = "standalone"
        trim, trim_note = clean_trim(r["trim"])
        region = r["region"].split(",")[0].strip()
        region = REGION_CODES.get(region, region)
        new = {
            "model_id": mid,
            "member": r["member"],
            "brand": r["brand"],
            "model_name": r["model"],
            "segment": SEGMENTS.get(r["seg"], r["seg"]),
            "body": r["body"],
            "platform": PLATFORMS.get(r["platform"], r["platform"]),
            "region": region,
            "plant": r["plant"],
            "launch_year": LAUNCH.get(r["launch"], r["launch"]),
            "end_year": r["eol"],
            "annual_volume": r["vol"],
            "family_id": family,
            "role": role,
            "common_platform": "yes" if r["cp"] == "yes" else "no",
            "trim": trim,
            "dev_cost_eur_m": "",
            "notes": "; ".join(
                x for x in [
                    f"trim: {trim_note}" if trim_note else "",
                    f"markets: {r['region']}" if "," in r["region"] or r["region"] != region else "",
                    f"draft family: {r['family']}"
                    if r["family"] != "—" and family != r["family"].split(" ")[0] else "",
                    f"draft role: {r['role']}" if role != r["role"] else "",
                    f"draft segment: {r['seg']}" if r["seg"] in SEGMENTS else "",
                ] if x
            ),
        }
        provs = {}
        for col, draft in PROV.items():
            p = clean_prov(r[f"{draft}_prov"])
            if col in {"family_id", "role"} and (family != r["family"].split(" ")[0] or role != r["role"]):
                p = "A" if not p.startswith("S") else p
            provs[f"{col}_prov"] = p
        keys = sorted({k for p in provs.values() for k in p.split("; ") if k.startswith("S:")},
                      key=lambda k: int(k[2:]))
        new["source"] = "; ".join(keys)
        new.update(provs)
        out_rows.append(new)
    fields = COLUMNS + [f"{c}_prov" for c in PROV]
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(out_rows)
    print(f"wrote {len(out_rows)} rows to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/reference")
