"""Sites: the homes of the fleet, their sharing, distribution and deletion."""
