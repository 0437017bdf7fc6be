"""HTTP plumbing shared by every domain: dependencies, caching and ETags, content negotiation, responses."""
