"""Scheduled extracts and alert digests: audited data packages for ministries and subscribers.

Reads schema `published` only, as monitor_extracts (`extracts.read`); subscriptions are data
(`config/extracts.yml`, `extracts.config`); packages are deterministic Frictionless data
packages (`extracts.package`, `extracts.build`, `extracts.digests`), delivered by SFTP, e-mail
or to a folder with a delivery log (`extracts.deliver`), run per data interval
(`extracts.run`). See docs/extracts.md.
"""
