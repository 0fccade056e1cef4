"""Source data in the store: each source's table, merging delivered records into days, versions and checks.

:mod:`.tables` (a source's table spec and merging batches into a stored day without doubles),
:mod:`.versions` ("latest as of t" over revised values), :mod:`.checks` (completeness, duplicates,
revisions) and :mod:`.assets` (one daily-partitioned asset per configured source).
"""
