"""`casewatch report`: the QA report (HTML or JSON) and its audit sample (CSV)."""
