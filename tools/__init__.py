"""Developer tools, a package per role: ``local`` runs the functions as Lambda would (invoke, up,
start-lambda, demo), ``services`` starts what tests and demos need (brokers, registry, LocalStack,
fixture servers), ``bench`` measures (make bench). The build steps live beside the build, in
lambda_build/."""
