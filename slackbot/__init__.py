"""Slack: every thread is its own ChatGPT conversation, and the answer streams into it."""

from slackbot.service import SlackService, SlackSetupError, slack_mode

__all__ = ["SlackService", "SlackSetupError", "slack_mode"]
