"""What connhub's administrators get (issue 21): who they are (access.py) and what they see and
do across every user (service.py, the one door the «Обзор» page goes through)."""
