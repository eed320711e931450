"""Model backends behind one small protocol: embedded llama.cpp, Ollama, OpenAI-compatible."""
