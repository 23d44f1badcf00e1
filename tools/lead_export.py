"""Write a flat lead export with outcomes from a synthetic world: one row per lead
handed to sales, its behaviour before the hand-off counted in columns (the headers of
examples/sample/lead-export.csv, read by examples/mappings/lead-export.yaml) and two
outcome columns, `SQL` and `Won`. The file of docs/learning.md's worked example:

    .venv/bin/python tools/lead_export.py --accounts 1500 --seed 7 \
        --out examples/sample/lead-export-outcomes.csv
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

from mql.learning.world import lead_rows
from mql.synthetic import World, WorldParameters

SENIORITY = {"c_level": "C-Level", "vp": "VP", "director": "Director", "manager": "Manager",
             "individual_contributor": "Individual Contributor", "student": "Student"}
INDUSTRY = {"software": "Computer Software", "fintech": "Financial Technology",
            "healthcare": "Hospital & Health Care", "financial_services": "Banking",
            "government": "Government Administration"}
HEADERS = ["Email", "First Name", "Last Name", "Job Title", "Seniority", "Country", "Company",
           "Website", "Employees", "Industry", "Visits", "Minutes on Site", "Pages Viewed",
           "Downloads", "Webinars Attended", "Days Since Last Visit", "SQL", "Won"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1500)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    world = World(WorldParameters(accounts=args.accounts, months=args.months),
                  random.Random(args.seed))
    slices = list(world.accounts())
    won = {r.key for r in lead_rows(slices, outcome="won") if r.label}
    with args.out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for row in lead_rows(slices, outcome="sql"):
            a = row.attributes
            views = [age for kind, age in row.touches if kind.startswith("page_view")]
            days = {int(age) for age in views}
            writer.writerow([
                row.key, a.get("contact.first_name"), a.get("contact.last_name"),
                a.get("contact.title"), SENIORITY.get(str(a.get("contact.seniority")), ""),
                a.get("contact.country"), a.get("account.name"), a.get("account.domain", ""),
                a.get("account.employees"),
                INDUSTRY.get(str(a.get("account.industry")), a.get("account.industry")),
                len(days), round(1.5 * len(views), 1), len(views),
                sum(kind == "content_download" for kind, _ in row.touches),
                sum(kind == "webinar_attended" for kind, _ in row.touches),
                int(min(views)) if views else "",
                "yes" if row.label else "no", "yes" if row.key in won else "no"])


if __name__ == "__main__":
    main()
