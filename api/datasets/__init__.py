"""The data domain: releases, observations, records, shares, ingest and the data routes."""
