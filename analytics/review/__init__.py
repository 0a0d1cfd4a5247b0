"""Human review: people confirm, reject or correct what the detectors saw (docs/api/review.md).

An admin makes a campaign from a search; its items (tracks, untracked detections) are what
that search matched then. Reviewers lease batches of items with gold items mixed in, vote,
and the votes are aggregated into each item's state. The stored payload and the index are
never rewritten: :func:`analytics.review.selectors.review_states` gives the states, keyed as
:class:`analytics.review.models.Item` documents, for the search engines to lay over them."""
