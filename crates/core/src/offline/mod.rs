//! Offline evidence readers: event logs, registry, certificate files, .rdp files.
