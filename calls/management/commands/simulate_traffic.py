"""``python manage.py simulate_traffic --calls-per-hour N --minutes M [--speed X]``: callers
through the IVR API, queues, simulated agents and CTI events (``calls.simulator``)."""

import json
import logging

from django.core.management.base import BaseCommand, CommandError

from calls.simulator import Simulator


class Command(BaseCommand):
    help = "Drive simulated calls end to end: IVR, queues, agents, CTI events (for the demo and benchmarks)."

    def add_arguments(self, parser):
        parser.add_argument("--calls-per-hour", type=float, required=True)
        parser.add_argument("--minutes", type=float, required=True, help="simulated minutes of arrivals")
        parser.add_argument("--speed", type=float, default=1.0, help="time compression (10: an hour in 6 minutes)")
        parser.add_argument(
            "--agents",
            type=int,
            default=None,
            help="play only the last N agents with skills (agent01, the README tour's login, stays free)",
        )
        parser.add_argument("--seed", type=int, default=None, help="random seed (same choices, not same timings)")
        parser.add_argument("--no-ivr", action="store_true", help="queue callers directly (CTI only)")
        parser.add_argument(
            "--outbound-answer-rate",
            type=float,
            default=0.3,
            help="share of outbound dials the customer answers (the simulator plays the switch's side)",
        )

    def handle(self, *args, **options):
        if options["calls_per_hour"] <= 0 or options["minutes"] <= 0 or options["speed"] <= 0:
            raise CommandError("--calls-per-hour, --minutes and --speed must be positive.")
        try:
            simulator = Simulator(
                calls_per_hour=options["calls_per_hour"],
                minutes=options["minutes"],
                speed=options["speed"],
                seed=options["seed"],
                agents=options["agents"],
                out=self.stdout.write,
                use_ivr=not options["no_ivr"],
                outbound_answer_rate=options["outbound_answer_rate"],
            )
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Simulating {options['calls_per_hour']:g} calls/hour for {options['minutes']:g} minutes at "
            f"{options['speed']:g}x with {len(simulator.agents)} agents"
            f"{'' if simulator.use_ivr else ' (no published IVR menu: CTI only)'}."
        )
        # Refusals are part of the traffic (a caller hanging up as the agent answers): not news.
        request_log = logging.getLogger("django.request")
        level = request_log.level
        request_log.setLevel(logging.ERROR)
        try:
            summary = simulator.run()
        finally:
            request_log.setLevel(level)
        self.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2))
