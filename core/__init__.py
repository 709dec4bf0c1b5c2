"""The core every stage stands on: settings, warehouse access, migrations, privacy, reference data,
text folding and HTTP. It imports nothing else of the project and nothing of Airflow."""
