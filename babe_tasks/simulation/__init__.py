"""What every local stand-in for a recruiting platform shares (e.g. the local MTurk and the local
Prolific, each in its platform plugin's `local` package): the state file and its clock, fault injection, serving
on 127.0.0.1 with private routes, and the simulated participants' trials. Nothing here knows a
platform's wire format."""
