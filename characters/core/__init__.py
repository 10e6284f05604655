"""The foundation every other part stands on: settings, the database engine and its write transactions, the
tables, migrations and the domain errors a person can read. It imports nothing else from `characters`."""
