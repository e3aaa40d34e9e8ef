"""The album: folders indexed into photos with regions and matches, searched, re-matched and captioned.

- `indexer`: folder import and incremental, resumable indexing (`Indexer`, `IndexRun`, `Progress`).
- `search`: photos by concept and by text.
- `rematch`, `rematch_state`, `region_vectors`: re-deciding the stored matches after a change, from
  the stored region embeddings (a full pass, or only what the change can affect).
- `caption`, `caption_steps`: personalised captions for an indexed folder (one call, or in steps).

The rows themselves live in `core/store/` (`album`, `photos`, `matches`, `captions`).
"""
