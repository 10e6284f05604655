"""The one adapter to a language model (OpenAI-compatible chat completions with JSON-schema output). It is the
only code that imports `openai`; drafting and the checker's optional judge talk to its `LanguageModel` protocol, so
tests swap a fake and production swaps a provider."""
