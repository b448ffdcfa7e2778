//! `rdpdoctor explain` lookups (filled in by the knowledge-base issue).
