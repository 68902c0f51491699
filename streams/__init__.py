"""What flows: topic definitions, codecs, and the sources that turn case data into events."""
