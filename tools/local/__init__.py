"""Running the functions locally as Lambda runs them: make invoke, make up, make start-lambda, make demo."""
