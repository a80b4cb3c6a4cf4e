"""The floor every other package stands on: progress events and the cancel token of long jobs
(:mod:`app.base.progress`), atomic output files (:mod:`app.base.atomic`) and the scrubbing of
crash logs (:mod:`app.base.logs`). Nothing here imports any other part of Obscura except
:mod:`app.errors` and :mod:`app.assets` (the user data folder)."""
