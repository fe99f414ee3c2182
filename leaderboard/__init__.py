"""medhub.leaderboard: result records, the SQLite store, ranking and reports."""
