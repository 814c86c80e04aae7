    _line("toy", Auth(headers={"X-Toy-Token": "{token}"}), 5.0),  # header <- credential; 5 requests a second
