"""Runs orchestration/airflow's DAG with dag.test(), once per conf given; run by the Airflow environment's python.

    python tests/airflow/run_dag.py '[{"feeds": [...]}, {}]'

Prints one JSON line per run: {"conf", "state", "tasks": {task_id: state}}. AIRFLOW_HOME and
AIRFLOW__CORE__DAGS_FOLDER come from the caller (tests/airflow/conftest.py).
"""

from __future__ import annotations

import json
import sys

from airflow.dag_processing.dagbag import DagBag


def main() -> int:
    confs = json.loads(sys.argv[1])
    bag = DagBag()  # the DAGs folder: AIRFLOW__CORE__DAGS_FOLDER
    if bag.import_errors:
        print(json.dumps({"import_errors": {str(k): v for k, v in bag.import_errors.items()}}))
        return 1
    dag = bag.dags["kafka_producers"]
    for conf in confs:
        run = dag.test(run_conf=conf)
        tasks = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
        print(json.dumps({"conf": conf, "state": str(run.state), "tasks": tasks}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
