"""`make bench`: how fast casewatch is, against the limit (aiokafka) and the peer (Quix Streams)."""
