"""Running an image as a service: the verify spec, the service run (start, ready, clients, stop)
and the containers and volumes it creates, all labelled and all removed afterwards."""
