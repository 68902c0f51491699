"""Small source files written by hand for the tests: a CIN census in a year's shape, CSV rows.

The personal data in them (UPNs, birth dates, names) is made up, and the tests check that
none of it comes out of an adapter.
"""

from pathlib import Path

UPN = "A123456789012"
FORMER_UPN = "B987654321098"
BIRTH_DATE = "2011-07-19"
NAME = "Jessamy Quennell"


def census(*children: str, year: int = 2024, reference: str | None = None, lea: str = "201") -> str:
    reference = reference or f"{year}-03-31"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Message>
  <Header>
    <CollectionDetails><Collection>CIN</Collection><Year>{year}</Year><ReferenceDate>{reference}</ReferenceDate></CollectionDetails>
    <Source><SourceLevel>L</SourceLevel><LEA>{lea}</LEA><SoftwareCode>LCS</SoftwareCode><Release>1</Release><SerialNo>001</SerialNo></Source>
  </Header>
  <Children>
{"".join(children)}
  </Children>
</Message>
"""


def child(la_id: str, *episodes: str, gender: str = "<GenderCurrent>1</GenderCurrent>", extra: str = "") -> str:
    return f"""    <Child>
      <ChildIdentifiers>
        <LAchildID>{la_id}</LAchildID><UPN>{UPN}</UPN><FormerUPN>{FORMER_UPN}</FormerUPN>
        <PersonBirthDate>{BIRTH_DATE}</PersonBirthDate>{gender}{extra}
      </ChildIdentifiers>
      <ChildCharacteristics><Ethnicity>WBRI</Ethnicity><Disabilities><Disability>HAND</Disability></Disabilities></ChildCharacteristics>
{"".join(episodes)}
    </Child>
"""


def episode(
    referral: str,
    *parts: str,
    source: str = "1A",
    need: str = "N1",
    closure: str = "",
    reason: str = "",
    nfa: str = "false",
) -> str:
    closed = f"<CINclosureDate>{closure}</CINclosureDate>" if closure else ""
    closed += f"<ReasonForClosure>{reason}</ReasonForClosure>" if reason else ""
    return f"""      <CINdetails>
        <CINreferralDate>{referral}</CINreferralDate><ReferralSource>{source}</ReferralSource>
        <PrimaryNeedCode>{need}</PrimaryNeedCode>{closed}
{"".join(parts)}
        <ReferralNFA>{nfa}</ReferralNFA>
      </CINdetails>
"""


def assessment(start: str, authorised: str = "", *factors: str) -> str:
    done = f"<AssessmentAuthorisationDate>{authorised}</AssessmentAuthorisationDate>" if authorised else ""
    listed = "".join(f"<AssessmentFactors>{f}</AssessmentFactors>" for f in factors)
    found = f"<FactorsIdentifiedAtAssessment>{listed}</FactorsIdentifiedAtAssessment>" if factors else ""
    return f"<Assessments><AssessmentActualStartDate>{start}</AssessmentActualStartDate>{done}{found}</Assessments>\n"


def section47(start: str, icpc: str = "") -> str:
    conference = f"<DateOfInitialCPC>{icpc}</DateOfInitialCPC>" if icpc else ""
    return (
        f"<Section47><S47ActualStartDate>{start}</S47ActualStartDate>{conference}"
        "<ICPCnotRequired>false</ICPCnotRequired></Section47>\n"
    )


def cp_plan(
    start: str,
    end: str = "",
    initial: str = "NEG",
    latest: str = "NEG",
    reviews: tuple[str, ...] = (),
    previous: str = "0",
) -> str:
    ended = f"<CPPendDate>{end}</CPPendDate>" if end else ""
    reviewed = "".join(f"<CPPreviewDate>{r}</CPPreviewDate>" for r in reviews)
    return (
        f"<ChildProtectionPlans><CPPstartDate>{start}</CPPstartDate>{ended}"
        f"<InitialCategoryOfAbuse>{initial}</InitialCategoryOfAbuse><LatestCategoryOfAbuse>{latest}</LatestCategoryOfAbuse>"
        f"<NumberOfPreviousCPP>{previous}</NumberOfPreviousCPP>{f'<Reviews>{reviewed}</Reviews>' if reviews else ''}"
        "</ChildProtectionPlans>\n"
    )


def cin_plan(start: str, end: str = "") -> str:
    ended = f"<CINPlanEndDate>{end}</CINPlanEndDate>" if end else ""
    return f"<CINPlanDates><CINPlanStartDate>{start}</CINPlanStartDate>{ended}</CINPlanDates>\n"


AGREEMENTS_HEADER = (
    "agreement_id,child_id,team,made_date,review_due_date,reviewed_dates,breach_dates,end_date,accompanies_closure"
)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
