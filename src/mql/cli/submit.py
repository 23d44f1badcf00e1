"""The entry point for spark-submit and the clusters built on it: the `mql` command line in
a Spark driver, so `rescore --engine spark` runs on the master spark-submit was given.

    spark-submit --master yarn "$(python -m mql.cli.submit)" rescore --engine spark \\
        --model b2b-saas.yaml --events events.parquet --contacts contacts.parquet \\
        --out scores.parquet

Run by plain Python (no Spark driver around it), it prints the path of this file, the one to
hand to spark-submit, Databricks' spark_python_task or `gcloud dataproc jobs submit pyspark`.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        print(os.path.abspath(__file__))
        return
    from mql.cli.main import run

    sys.argv[0] = "mql"
    run()


if __name__ == "__main__":
    main()
