"""The lane's SQLite database: schema and migrations, event rows, evidence files, retention,
export. It records; it decides nothing."""
