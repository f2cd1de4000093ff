"""Reports: what the notebooks call to show and save results (display), the headless notebook runner
with its refusal of unknown parameters (runner), the report's index page (index), and
`agentscaling reproduce` (cli)."""
