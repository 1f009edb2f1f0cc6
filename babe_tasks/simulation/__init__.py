"""What every local stand-in for a recruiting platform shares (the local MTurk in `babe_mturk.local`,
the local Prolific in `babe_prolific.local`): the state file and its clock, fault injection, serving
on 127.0.0.1 with private routes, and the simulated participants' trials. Nothing here knows a
platform's wire format."""
