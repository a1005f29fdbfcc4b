"""Storage adapters: metadata (SQLite, MongoDB), Redis, blobs. Driver calls live only here."""
